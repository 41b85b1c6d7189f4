"""Tencent's official Python SDK (cos-python-sdk-v5 1.9.44): every workflow call against a running
`stowaway serve` (triggers spec §2), used as the SDK's demos use them, with assertions on the
parsed results; fails loudly (non-zero exit, traceback) on the first surprise.

    python3 tests/sdk/python_workflows.py --port 8080 --bucket examplebucket-1250000000 \
        --callback http://127.0.0.1:9000/cb --secret-id AKIDtest --secret-key testSecretKey

The bucket must hold `up/hls 1+2.png` (a PNG carrying MPEG-TS). Leaves one Active workflow named
`image-inspect` on prefix `up/` (images only, AutoProcess BackupObject, TaskFinish and
WorkflowFinish as JSON to --callback) and prints its id as `workflow: <id>`; its manual run on
`up/hls 1+2.png` has finished (the object is moved to abnormal_images_backup/).
"""
import argparse
import time

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_auth import CosS3Auth
from qcloud_cos.cos_comm import xml_to_dict
from qcloud_cos.cos_exception import CosServiceError

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--callback", required=True)
ap.add_argument("--secret-id", default="AKIDtest")
ap.add_argument("--secret-key", default="testSecretKey")
args = ap.parse_args()
B = args.bucket
KEY = "up/hls 1+2.png"

config = CosConfig(Region="ap-chongqing", SecretId=args.secret_id, SecretKey=args.secret_key, Scheme="http",
                   IP="127.0.0.1", Port=args.port)
client = CosS3Client(config, retry=0)


def body(name, prefix="up/"):
    """The official demo's body (demo/ci_media.py:ci_create_workflow_image_inspect), empty elements
    and all, with ExtFilter as in the update demo."""
    return {
        'MediaWorkflow': {
            'Name': name,
            'State': '',
            'Topology': {
                'Dependencies': {'Start': 'ImageInspectNode', 'ImageInspectNode': 'End'},
                'Nodes': {
                    'Start': {
                        'Type': 'Start',
                        'Input': {
                            'ObjectPrefix': prefix,
                            'NotifyConfig': {
                                'Type': 'Url',
                                'Url': args.callback,
                                'Event': 'WorkflowFinish,TaskFinish',
                                'ResultFormat': 'JSON',
                                'MqMode': '',
                                'MqRegion': '',
                                'MqName': '',
                            },
                            'ExtFilter': {
                                'State': 'On',
                                'Audio': 'false',
                                'Custom': 'false',
                                'CustomExts': '',
                                'AllFile': 'false',
                                'Image': 'true',
                                'Video': '',
                            },
                        },
                    },
                    'ImageInspectNode': {
                        'Type': 'ImageInspect',
                        'Operation': {
                            'ImageInspect': {'AutoProcess': 'true', 'ProcessType': 'BackupObject'},
                        },
                    },
                },
            },
        }
    }


def expect_error(code, call):
    try:
        call()
    except CosServiceError as e:
        assert e.get_error_code() == code, (e.get_error_code(), e.get_error_msg())
        return
    raise AssertionError(f"expected {code}")


# Create: Paused when the body asks for no state.
r = client.ci_create_workflow(Bucket=B, Body=body("image-inspect-0"), ContentType='application/xml')
w = r['MediaWorkflow']
wid = w['WorkflowId']
assert wid.startswith('w') and len(wid) == 33, w
assert w['State'] == 'Paused' and w['Name'] == 'image-inspect-0', w
start = w['Topology']['Nodes']['Start']
assert start['Input']['ObjectPrefix'] == 'up/', start
assert start['Input']['NotifyConfig']['Url'] == args.callback, start
node = w['Topology']['Nodes']['ImageInspectNode']
assert node['Operation']['ImageInspect']['ProcessType'] == 'BackupObject', node

# Get, with an id that does not exist.
r = client.ci_get_workflow(Bucket=B, Ids=f"{wid},w{'0' * 32}")
found = r['MediaWorkflowList']
assert [f['WorkflowId'] for f in found] == [wid], r
assert r['NonExistIDs'] == f"w{'0' * 32}", r
r = client.ci_get_workflow(Bucket=B, Name='image-inspect-0', PageNumber='1', PageSize='10')
assert r['TotalCount'] == '1' and r['MediaWorkflowList'][0]['WorkflowId'] == wid, r

# Update while Paused; switch on; an Active workflow refuses changes.
r = client.ci_update_workflow(Bucket=B, WorkflowId=wid, Body=body("image-inspect"), ContentType='application/xml')
assert r['MediaWorkflow']['Name'] == 'image-inspect', r
r = client.ci_update_workflow_state(Bucket=B, WorkflowId=wid, UpdateState='active')
assert r['WorkflowId'] == wid, r
assert client.ci_get_workflow(Bucket=B, Ids=wid)['MediaWorkflowList'][0]['State'] == 'Active'
expect_error('WorkflowActive', lambda: client.ci_update_workflow(
    Bucket=B, WorkflowId=wid, Body=body("changed"), ContentType='application/xml'))
expect_error('NoSuchWorkflow', lambda: client.ci_update_workflow_state(
    Bucket=B, WorkflowId=f"w{'0' * 32}", UpdateState='paused'))

# A second workflow, paused and deleted.
other = client.ci_create_workflow(Bucket=B, Body=body("other", prefix="elsewhere/"),
                                  ContentType='application/xml')['MediaWorkflow']['WorkflowId']
r = client.ci_update_workflow_state(Bucket=B, WorkflowId=other, UpdateState='paused')
assert r['WorkflowId'] == other, r
r = client.ci_delete_workflow(Bucket=B, WorkflowId=other)
assert r['WorkflowId'] == other, r
expect_error('NoSuchWorkflow', lambda: client.ci_delete_workflow(Bucket=B, WorkflowId=other))

# A manual run on a key with a space and a plus (the query is form-encoded, the signature not).
r = client.ci_trigger_workflow(Bucket=B, WorkflowId=wid, Key=KEY)
run_id = r['InstanceId']
assert run_id.startswith('i') and len(run_id) == 33, r
deadline = time.time() + 30
while True:
    # The SDK turns WorkflowExecution into a list.
    e = client.ci_get_workflowexecution(Bucket=B, RunId=run_id)['WorkflowExecution'][0]
    if e['State'] != 'Running' or time.time() > deadline:
        break
    time.sleep(0.2)
assert e['State'] == 'Success' and e['RunId'] == run_id and e['Object'] == KEY, e
assert e['WorkflowId'] == wid, e
task = e['Tasks']
assert task['Type'] == 'ImageInspect' and task['State'] == 'Success' and task['Name'] == 'ImageInspectNode', e
job_id = task['JobId']
expect_error('NoSuchWorkflowExecution', lambda: client.ci_get_workflowexecution(Bucket=B, RunId=f"i{'0' * 32}"))

r = client.ci_list_workflowexecution(Bucket=B, WorkflowId=wid)
runs = r['WorkflowExecutionList']
runs = runs if isinstance(runs, list) else [runs]
assert [x['RunId'] for x in runs] == [run_id] and runs[0]['State'] == 'Success', r
r = client.ci_list_workflowexecution(Bucket=B, WorkflowId=wid, Name=KEY, States='Failed')
assert 'WorkflowExecutionList' not in r, r

# GET /jobs?workflowId= (Go's DescribeMediaJobs sends it; Python's ci_list_media_jobs cannot).
params = {'tag': 'ImageInspect', 'workflowId': wid}
rt = client.send_request(method='GET', url=config.uri(bucket=B, path='/jobs', endpoint=config._endpoint_ci),
                         bucket=B, auth=CosS3Auth(config, '/jobs', params=params), params=params,
                         headers={}, ci_request=True)
jobs = xml_to_dict(rt.content)['JobsDetail']
assert jobs['JobId'] == job_id, jobs
assert jobs['Workflow'] == {'RunId': run_id, 'WorkflowId': wid, 'WorkflowName': 'image-inspect',
                            'Name': 'ImageInspectNode'}, jobs
result = jobs['Operation']['ImageInspectResult']['ProcessResult']
assert result['Suspicious'] == 'true' and result['AutoProcessResult']['Code'] == 'Success', jobs

print(f"workflow: {wid}")
print(f"run: {run_id}")
print("python-workflows: all calls worked")
