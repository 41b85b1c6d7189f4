"""Tencent's official Python SDK (cos-python-sdk-v5 1.9.44): every batch-job call (triggers spec
§1) against a running `stowaway serve`, as the SDK's demos use them, with assertions on the
parsed results; fails loudly on the first surprise.

    python3 tests/sdk/python_batches.py --port 8080 --bucket examplebucket-1250000000 \
        --secret-id AKIDtest --secret-key testSecretKey

The bucket must hold `in/a.png`, `in/b 1.png`, `in/c+.jpg` and `other/x.png`. Makes a Type=Job
batch over `in/` (three children, run to Success), a Type=Workflow batch over `in/` through a
new workflow (three runs), and a batch cancelled at once; prints `job batch: <id>`.
"""
import argparse
import time

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--secret-id", default="AKIDtest")
ap.add_argument("--secret-key", default="testSecretKey")
args = ap.parse_args()
B = args.bucket

config = CosConfig(Region="ap-chongqing", SecretId=args.secret_id, SecretKey=args.secret_key, Scheme="http",
                   IP="127.0.0.1", Port=args.port)
client = CosS3Client(config, retry=0)


def wait_for(batch_id, state):
    deadline = time.time() + 60
    while True:
        job = client.ci_get_inventory_trigger_jobs(Bucket=B, JobID=batch_id)['JobsDetail'][0]
        if job['State'] == state or time.time() > deadline:
            return job
        time.sleep(0.3)


# Type=Job over a prefix, as the official demo (demo/ci_media.py:ci_create_image_inspect_batch_jobs).
body = {
    'Name': 'image-inspect-batch',
    'Type': 'Job',
    'Input': {'Prefix': 'in/'},
    'Operation': {
        'Tag': 'ImageInspect',
        'JobParam': {'ImageInspect': {'AutoProcess': 'false', 'ProcessType': 'BackupObject'}},
    },
}
r = client.ci_create_inventory_trigger_jobs(Bucket=B, JobBody=body, ContentType='application/xml')
created = r['JobsDetail'][0]
job_batch = created['JobId']
assert job_batch.startswith('b') and len(job_batch) == 33, r
assert created['Type'] == 'Job' and created['Name'] == 'image-inspect-batch', created
assert created['Input']['Prefix'] == 'in/', created
assert created['Operation']['Tag'] == 'ImageInspect', created
done = wait_for(job_batch, 'Success')
assert done['State'] == 'Success' and done.get('Progress') == '100', done
assert done['EndTime'] != '-', done

# Unknown ids: NonExistJobIds.
r = client.ci_get_inventory_trigger_jobs(Bucket=B, JobID=f"{job_batch},b{'0' * 32}")
assert r['NonExistJobIds'] == f"b{'0' * 32}", r

# Lists: Python's default type=Workflow hides Type=Job batches (spec §1.4); Type='Job' shows them.
r = client.ci_list_inventory_trigger_jobs(Bucket=B)
assert 'JobsDetail' not in r or all(j['Type'] == 'Workflow' for j in r['JobsDetail']), r
r = client.ci_list_inventory_trigger_jobs(Bucket=B, Type='Job', States='Success', Size=10)
assert [j['JobId'] for j in r['JobsDetail']] == [job_batch], r

# Type=Workflow through a workflow (demo/ci_media.py:ci_create_image_inspect_workflow_batch_jobs).
workflow = {'MediaWorkflow': {'Name': 'batch-flow', 'State': 'Paused', 'Topology': {
    'Dependencies': {'Start': 'ImageInspectNode', 'ImageInspectNode': 'End'},
    'Nodes': {'Start': {'Type': 'Start', 'Input': {'ObjectPrefix': 'elsewhere/'}},
              'ImageInspectNode': {'Type': 'ImageInspect', 'Operation': {'ImageInspect': {'AutoProcess': 'false'}}}}}}}
wid = client.ci_create_workflow(Bucket=B, Body=workflow, ContentType='application/xml')['MediaWorkflow']['WorkflowId']
body = {'Name': 'through-workflow', 'Type': 'Workflow', 'Input': {'Prefix': 'in/'},
        'Operation': {'WorkflowIds': wid}}
r = client.ci_create_inventory_trigger_jobs(Bucket=B, JobBody=body, ContentType='application/xml')
flow_batch = r['JobsDetail'][0]['JobId']
assert r['JobsDetail'][0]['Operation']['WorkflowIds'] == wid, r
wait_for(flow_batch, 'Success')
r = client.ci_list_workflowexecution(Bucket=B, WorkflowId=wid, BatchJobId=flow_batch)
runs = r['WorkflowExecutionList']
runs = runs if isinstance(runs, list) else [runs]
assert sorted(x['Object'] for x in runs) == ['in/a.png', 'in/b 1.png', 'in/c+.jpg'], r
r = client.ci_list_inventory_trigger_jobs(Bucket=B, WorkflowId=wid)
assert [j['JobId'] for j in r['JobsDetail']] == [flow_batch], r

# A batch naming a workflow that does not exist is refused.
try:
    client.ci_create_inventory_trigger_jobs(Bucket=B, JobBody=dict(body, Operation={'WorkflowIds': 'w' + '0' * 32}),
                                            ContentType='application/xml')
    raise AssertionError("a missing workflow was accepted")
except CosServiceError as e:
    assert e.get_error_code() == 'NoSuchWorkflow', e.get_error_msg()

# Cancel (PUT ?cancel, unsigned): answered with no body, the SDK returns the raw response.
body = {'Name': 'cancelled', 'Type': 'Job', 'Input': {'Object': 'other/x.png'},
        'Operation': {'Tag': 'ImageInspect'}}
doomed = client.ci_create_inventory_trigger_jobs(Bucket=B, JobBody=body, ContentType='application/xml')['JobsDetail'][0]['JobId']
rt = client.ci_delete_inventory_trigger_jobs(Bucket=B, JobId=doomed)
assert rt.status_code == 200, rt.status_code
assert wait_for(doomed, 'Cancel')['State'] == 'Cancel'

print(f"job batch: {job_batch}")
print("python-batches: all calls worked")
