"""Tencent's official Python SDK (cos-python-sdk-v5) against a running `stowaway serve`.

    python3 tests/sdk/python_sdk.py --port 8080 --bucket examplebucket-1250000000 \
        --callback http://127.0.0.1:9000/cb

The bucket must exist in the service's S3 store with `hls.png` (a PNG carrying MPEG-TS) in it.
Uses the SDK exactly as Tencent's docs and demos do, in IP mode (Host names the bucket), and
fails loudly on the first surprise. Run by crates/stowaway/tests/service.rs.
"""
import argparse
import sys
import time

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--callback", required=True, help="URL every job's TaskFinish callback goes to")
args = ap.parse_args()
B = args.bucket

config = CosConfig(Region="ap-chongqing", SecretId="AKIDtest", SecretKey="testSecretKey",
                   Scheme="http", IP="127.0.0.1", Port=args.port)
client = CosS3Client(config, retry=0)


def step(name):
    print(f"python-sdk: {name}", flush=True)


def submit(obj, level="0", auto="true", process="BackupObject"):
    return client.ci_create_media_jobs(Bucket=B, Lst={}, ContentType="application/xml", Jobs={
        "Tag": "ImageInspect", "Input": {"Object": obj},
        "Operation": {"ImageInspect": {"AutoProcess": auto, "ProcessType": process},
                      "UserData": "This is my data", "JobLevel": level},
        "CallBack": args.callback, "CallBackFormat": "JSON"})


def wait_for(job_id, states, timeout=30):
    deadline = time.time() + timeout
    while True:
        detail = client.ci_get_media_jobs(Bucket=B, JobIDs=job_id)["JobsDetail"][0]
        if detail["State"] in states:
            return detail
        assert time.time() < deadline, f"job {job_id} still {detail['State']}"
        time.sleep(0.2)


step("activate the bucket (ci_open_pic_bucket)")
_, data = client.ci_open_pic_bucket(Bucket=B)
assert data["PicBucket"]["BucketId"] == B, data

step("submit (ci_create_media_jobs)")
job = submit("hls.png", level="2")
detail = job["JobsDetail"][0]
job_id = detail["JobId"]
assert job_id.startswith("c") and len(job_id) == 33, detail
assert detail["State"] == "Submitted" and detail["Tag"] == "ImageInspect", detail
assert detail["Input"]["BucketId"] == B and detail["Input"]["Region"] == "ap-chongqing", detail
assert detail["Operation"]["UserData"] == "This is my data" and detail["Operation"]["JobLevel"] == "2", detail

step("query until finished (ci_get_media_jobs)")
done = wait_for(job_id, ("Success", "Failed"))
assert done["State"] == "Success", done
result = done["Operation"]["ImageInspectResult"]
process = result["ProcessResult"]
assert process["Suspicious"] == "true" and process["SuspiciousType"] == "MPEG-TS", result
assert process["AutoProcessResult"]["Code"] == "Success", result
assert done["StartTime"] != "-" and done["EndTime"] != "-", done

step("list (ci_list_media_jobs)")
listed = client.ci_list_media_jobs(Bucket=B, Tag="ImageInspect", Size=10)
assert job_id in [j["JobId"] for j in listed["JobsDetail"]], listed
missing = client.ci_get_media_jobs(Bucket=B, JobIDs="c" + "0" * 32)
assert missing.get("NonExistJobIds") is not None, missing

step("pause the queue (ci_get_media_pic_queue, ci_update_media_pic_queue)")
queues = client.ci_get_media_pic_queue(Bucket=B)
queue = queues["QueueList"][0]
assert queue["Name"] == "queue-pic-process-1" and queue["State"] == "Active", queues
qid = queue["QueueId"]
paused = client.ci_update_media_pic_queue(Bucket=B, QueueId=qid, Request={
    "Name": "queue-pic-process-1", "QueueID": qid, "State": "Paused",
    "NotifyConfig": {"State": "Off"}})
assert paused["Queue"][0]["State"] == "Paused", paused

step("a job submitted to a paused queue waits, and cancels (ci_cancel_jobs)")
waiting = submit("hls.png")["JobsDetail"][0]
assert waiting["State"] == "Pause", waiting
client.ci_cancel_jobs(Bucket=B, JobID=waiting["JobId"])
assert client.ci_get_media_jobs(Bucket=B, JobIDs=waiting["JobId"])["JobsDetail"][0]["State"] == "Cancel"

step("resume the queue")
active = client.ci_update_media_pic_queue(Bucket=B, QueueId=qid, Request={
    "Name": "queue-pic-process-1", "QueueID": qid, "State": "Active", "NotifyConfig": {"State": "Off"}})
assert active["Queue"][0]["State"] == "Active", active

step("bad input is a CosServiceError with Tencent's fields")
try:
    submit("hls.png", level="7")
    sys.exit("JobLevel 7 was accepted")
except CosServiceError as e:
    assert e.get_status_code() == 400, e
    assert e.get_error_code() == "InvalidArgument", e.get_error_code()
    assert "JobLevel" in e.get_error_msg(), e.get_error_msg()
    assert e.get_request_id() and e.get_trace_id(), (e.get_request_id(), e.get_trace_id())

step("cancelling a finished job is refused")
try:
    client.ci_cancel_jobs(Bucket=B, JobID=job_id)
    sys.exit("cancelling a finished job was accepted")
except CosServiceError as e:
    assert e.get_status_code() == 400 and e.get_error_code() == "InvalidArgument", e

step("list activated buckets (ci_get_pic_bucket)")
buckets = client.ci_get_pic_bucket(Regions="ap-chongqing", BucketName=B[:6])
assert B in [b["Name"] for b in buckets["PicBucketList"]], buckets
print("python-sdk: all calls worked", flush=True)
