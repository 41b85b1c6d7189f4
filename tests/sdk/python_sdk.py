"""Tencent's official Python SDK (cos-python-sdk-v5 1.9.44) against a running `stowaway serve`.

    python3 tests/sdk/python_sdk.py --port 8080 --bucket examplebucket-1250000000 \
        --callback http://127.0.0.1:9000/cb --mode ip --secret-id AKIDtest \
        --secret-key testSecretKey --acl-supported no

Every call of spec §8.1/§8.2, used exactly as Tencent's docs and demos use them, with assertions on
the parsed results; fails loudly (non-zero exit, traceback) on the first surprise.

--mode ip      CosConfig(IP=, Port=): the bucket is in Host (`<bucket>.cos.ap-chongqing.myqcloud.com`)
               except for the bucket-less calls (ci_open/close_pic_bucket, ci_get_pic_bucket).
--mode domain  CosConfig(Domain='127.0.0.1:<port>'): Host is `127.0.0.1:<port>` everywhere; the
               server must use its STOWAWAY_DEFAULT_BUCKET, which must be --bucket.
--acl-supported  whether the S3 store behind the server implements object ACLs (moto yes,
               s3s-fs no): decides SwitchObjectToPrivate's AutoProcessResult.

The bucket must be fresh (no jobs yet) and hold, as crates/stowaway/tests/service.rs uploads them:
`hls.png`, `private.png`, `delete.png`, `dir/测 试 100%.png` (each stowaway_testkit::png_with_ts(50):
a PNG followed by 50 MPEG-TS packets) and `clean.png` (stowaway_testkit::clean_png(): the same PNG
alone). Afterwards: hls.png is moved to abnormal_images_backup/hls.png, delete.png is deleted, the
others are still there; image processing is switched off for the bucket (ci_close_pic_bucket).
Every job reports to --callback as JSON.
"""
import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone

from qcloud_cos import CosConfig, CosS3Client
from tencent_errors import expect_error

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--callback", required=True, help="URL every job's TaskFinish callback goes to")
ap.add_argument("--mode", choices=("ip", "domain"), default="ip")
ap.add_argument("--secret-id", default="AKIDtest")
ap.add_argument("--secret-key", default="testSecretKey")
ap.add_argument("--acl-supported", choices=("yes", "no"), required=True)
args = ap.parse_args()
B = args.bucket
REGION = "ap-chongqing"
TS_PACKETS = 50  # png_with_ts(50)
WEIRD = "dir/测 试 100%.png"
UNKNOWN_JOB = "c" + "0" * 32


def make_client(secret_id, secret_key):
    if args.mode == "ip":
        config = CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key, Scheme="http",
                           IP="127.0.0.1", Port=args.port)
    else:
        config = CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key, Scheme="http",
                           Domain=f"127.0.0.1:{args.port}")
    return CosS3Client(config, retry=0)


client = make_client(args.secret_id, args.secret_key)


def step(name):
    print(f"python-sdk[{args.mode}]: {name}", flush=True)




def submit(obj, level="0", auto="true", process="BackupObject", c=None):
    return (c or client).ci_create_media_jobs(Bucket=B, Lst={}, ContentType="application/xml", Jobs={
        "Tag": "ImageInspect", "Input": {"Object": obj},
        "Operation": {"ImageInspect": {"AutoProcess": auto, "ProcessType": process},
                      "UserData": "This is my data", "JobLevel": level},
        "CallBack": args.callback, "CallBackFormat": "JSON"})


def get_jobs(ids):
    return client.ci_get_media_jobs(Bucket=B, JobIDs=",".join(ids))


def wait_for(job_id, states, timeout=30):
    deadline = time.time() + timeout
    while True:
        detail = get_jobs([job_id])["JobsDetail"][0]
        if detail["State"] in states:
            return detail
        assert time.time() < deadline, f"job {job_id} still {detail['State']}"
        time.sleep(0.2)


def listed_ids(**filters):
    """Job ids of one ci_list_media_jobs page (no NextToken given: the first one)."""
    page = client.ci_list_media_jobs(Bucket=B, Tag="ImageInspect", Size=100, **filters)
    return [j["JobId"] for j in page.get("JobsDetail", [])]


def tencent_time(t):
    """`2023-05-24T11:12:44+0800`, the form of Tencent's documents and of the list filters."""
    return t.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M:%S+0800")


def header(headers, name):
    """A response header by its exact name, as Tencent's docs read them (`response['x-cos-request-id']`)."""
    assert name in headers, f"no {name!r} header (case-sensitive, as the SDK's dict has it): {headers}"
    return headers[name]


# suspiciousConfidence is Stowaway's extension (the SDK passes it through like any other key).
SUSPICIOUS_KEYS = {"suspiciousBeginByte", "suspiciousEndByte", "suspiciousSize", "suspiciousType",
                   "suspiciousConfidence"}


def check_sync_clean(result, what):
    assert set(result) == {"picSize", "picType", "suspicious"}, (what, result)
    assert type(result["picSize"]) is int and result["picSize"] > 0, (what, result)
    assert result["picType"] == "png" and result["suspicious"] is False, (what, result)
    return result["picSize"]


def check_sync_suspicious(result, clean_size, what):
    assert set(result) == {"picSize", "picType", "suspicious"} | SUSPICIOUS_KEYS, (what, result)
    for k in ("picSize", "suspiciousBeginByte", "suspiciousEndByte", "suspiciousSize"):
        assert type(result[k]) is int, (what, k, result)
    assert result["picType"] == "png" and result["suspicious"] is True, (what, result)
    assert result["suspiciousType"] == "MPEG-TS", (what, result)
    assert result["suspiciousConfidence"] == "certain", (what, result)
    begin, end, size, pic = (result["suspiciousBeginByte"], result["suspiciousEndByte"],
                             result["suspiciousSize"], result["picSize"])
    assert begin < end and size == end - begin + 1 and end == pic - 1, (what, result)
    # The fixture is clean.png followed by the packets: the payload starts where clean.png ends.
    assert (pic, begin, size) == (clean_size + 188 * TS_PACKETS, clean_size, 188 * TS_PACKETS), (what, result)


# ---------------------------------------------------------------------------------------------
step("activate the bucket (ci_open_pic_bucket)")
headers, data = client.ci_open_pic_bucket(Bucket=B)
assert header(headers, "Content-Type") == "application/xml", headers
pic_bucket = data["PicBucket"]
assert pic_bucket["BucketId"] == B and pic_bucket["Name"] == B and pic_bucket["Region"] == REGION, data
assert data["RequestId"], data
assert pic_bucket["CreateTime"] and pic_bucket["CreateTime"].endswith("+0800"), data

step("list activated buckets (ci_get_pic_bucket: by prefix, by exact names, by region)")
found = client.ci_get_pic_bucket(Regions=REGION, BucketName=B[:6])
assert B in [b["Name"] for b in found["PicBucketList"]], found
found = client.ci_get_pic_bucket(BucketNames=B, PageNumber="1", PageSize="5")
assert [b["Name"] for b in found["PicBucketList"]] == [B] and found["TotalCount"] == "1", found
assert (found["PageNumber"], found["PageSize"]) == ("1", "5"), found
found = client.ci_get_pic_bucket(Regions="ap-beijing", BucketNames=B)
assert not found.get("PicBucketList") and found["TotalCount"] == "0", found

# Synchronous inspection first: BackupObject moves hls.png later.
step("synchronous ImageInspect, clean picture (ci_process CiProcess=ImageInspect, ci_image_inspect)")
result = client.ci_process(Bucket=B, Key="clean.png", CiProcess="ImageInspect")
assert isinstance(result, dict), f"ci_process did not decode JSON (Content-Type?): {result!r}"
clean_size = check_sync_clean(result, "ci_process clean.png")
headers, raw = client.ci_image_inspect(Bucket=B, Key="clean.png")
assert header(headers, "Content-Type").startswith("application/json"), headers
assert header(headers, "x-cos-request-id"), headers
assert json.loads(raw) == result, (raw, result)

step("synchronous ImageInspect, PNG carrying MPEG-TS under a key with UTF-8, spaces and %")
headers, data = client.ci_process(Bucket=B, Key=WEIRD, CiProcess="ImageInspect", NeedHeader=True)
assert isinstance(data, dict), f"ci_process did not decode JSON (Content-Type?): {data!r}"
check_sync_suspicious(data, clean_size, "ci_process " + WEIRD)
assert header(headers, "x-cos-request-id"), headers
headers, raw = client.ci_image_inspect(Bucket=B, Key=WEIRD)
sync_verdict = json.loads(raw)
check_sync_suspicious(sync_verdict, clean_size, "ci_image_inspect " + WEIRD)
assert sync_verdict == data, (sync_verdict, data)
check_sync_suspicious(client.ci_process(Bucket=B, Key="hls.png", CiProcess="ImageInspect"),
                      clean_size, "ci_process hls.png")

step("synchronous ImageInspect of a missing key is 404 NoSuchKey")
expect_error(lambda: client.ci_process(Bucket=B, Key="no/such.png", CiProcess="ImageInspect"),
             404, "NoSuchKey", "ci_process of a missing key")
expect_error(lambda: client.ci_image_inspect(Bucket=B, Key="no/such.png"),
             404, "NoSuchKey", "ci_image_inspect of a missing key")

# ---------------------------------------------------------------------------------------------
step("submit one job per ProcessType, and two with AutoProcess false (ci_create_media_jobs)")
t0 = datetime.now(timezone.utc).replace(microsecond=0)
submitted = {}
for key, level, auto, process in [
    ("hls.png", "2", "true", "BackupObject"),
    ("private.png", "1", "true", "SwitchObjectToPrivate"),
    ("delete.png", "0", "true", "DeleteObject"),
    ("clean.png", "0", "false", "BackupObject"),
    (WEIRD, "0", "false", "DeleteObject"),
]:
    job = submit(key, level=level, auto=auto, process=process)
    detail = job["JobsDetail"][0]
    job_id = detail["JobId"]
    assert job_id.startswith("c") and len(job_id) == 33, detail
    assert detail["State"] == "Submitted" and detail["Tag"] == "ImageInspect", detail
    assert detail["Code"] == "Success", detail
    assert detail["Input"] == {"BucketId": B, "Object": key, "Region": REGION}, detail
    assert detail["QueueId"].startswith("p") and len(detail["QueueId"]) == 33, detail
    assert detail["CreationTime"].endswith("+0800") and detail["StartTime"] == "-" and detail["EndTime"] == "-", detail
    op = detail["Operation"]
    assert op["UserData"] == "This is my data" and op["JobLevel"] == level, detail
    assert op["ImageInspect"] == {"AutoProcess": auto, "ProcessType": process}, detail
    submitted[key] = job_id
queue_id = detail["QueueId"]

step("query each job until finished (ci_get_media_jobs)")
done = {key: wait_for(job_id, ("Success", "Failed")) for key, job_id in submitted.items()}
for key, d in done.items():
    assert d["State"] == "Success" and d["Code"] == "Success", d
    assert d["StartTime"] != "-" and d["EndTime"] != "-", d
    assert d["CreationTime"] <= d["StartTime"] <= d["EndTime"], d
    r = d["Operation"]["ImageInspectResult"]
    assert r["State"] == "Success" and r["Code"] == "Success" and r["InputObjectName"] == key, d
    assert r["InputObjectUrl"], d
    p = r["ProcessResult"]
    assert p["PicType"] == "png", d
    if key == "clean.png":
        assert p == {"PicSize": str(clean_size), "PicType": "png", "Suspicious": "false"}, d
        continue
    assert p["Suspicious"] == "true" and p["SuspiciousType"] == "MPEG-TS", d
    assert p["SuspiciousConfidence"] == sync_verdict["suspiciousConfidence"] == "certain", d
    # The asynchronous verdict is the synchronous one, in XML's spelling.
    assert (p["PicSize"], p["SuspiciousBeginByte"], p["SuspiciousEndByte"], p["SuspiciousSize"]) == (
        str(sync_verdict["picSize"]), str(sync_verdict["suspiciousBeginByte"]),
        str(sync_verdict["suspiciousEndByte"]), str(sync_verdict["suspiciousSize"])), (d, sync_verdict)
    if key == WEIRD:
        assert "AutoProcessResult" not in p, f"AutoProcess was false, yet: {d}"
        continue
    auto = p["AutoProcessResult"]
    want = "Success" if key != "private.png" or args.acl_supported == "yes" else "Failed"
    assert auto["Code"] == want, f"{key}: AutoProcessResult {auto}, wanted Code {want}"
    assert auto["Message"], d

step("query several jobs at once, one unknown (ci_get_media_jobs with JobIDs a,b,c)")
several = get_jobs([submitted["hls.png"], submitted["clean.png"], UNKNOWN_JOB])
assert sorted(j["JobId"] for j in several["JobsDetail"]) == sorted([submitted["hls.png"], submitted["clean.png"]]), several
missing = several["NonExistJobIds"]
assert missing == UNKNOWN_JOB or missing == [UNKNOWN_JOB], several
known = get_jobs([submitted["hls.png"], submitted["delete.png"]])
assert len(known["JobsDetail"]) == 2 and not known.get("NonExistJobIds"), known
only_unknown = get_jobs([UNKNOWN_JOB])
assert not only_unknown.get("JobsDetail") and only_unknown["NonExistJobIds"] == UNKNOWN_JOB, only_unknown

step("list page by page (ci_list_media_jobs Size=1, NextToken)")
pages, token = [], ""
while True:
    page = client.ci_list_media_jobs(Bucket=B, Tag="ImageInspect", Size=1, NextToken=token)
    assert len(page["JobsDetail"]) == 1, page
    pages.append(page["JobsDetail"][0]["JobId"])
    token = page.get("NextToken") or ""
    if not token:
        break
    assert len(pages) <= len(submitted), f"more pages than jobs: {pages}"
assert sorted(pages) == sorted(submitted.values()), (pages, submitted)
desc = listed_ids(OrderByTime="Desc")
asc = listed_ids(OrderByTime="Asc")
assert desc == pages == listed_ids(), (desc, pages)
assert asc == desc[::-1], (asc, desc)
page = client.ci_list_media_jobs(Bucket=B, Tag="ImageInspect", OrderByTime="Asc")
times = [j["CreationTime"] for j in page["JobsDetail"]]
assert times == sorted(times), times

step("list with filters (States, QueueId, StartCreationTime/EndCreationTime)")
assert sorted(listed_ids(States="Success")) == sorted(submitted.values())
assert listed_ids(States="Failed") == [] and listed_ids(States="Cancel,Pause") == []
assert sorted(listed_ids(States="Success,Failed", QueueId=queue_id)) == sorted(submitted.values())
assert listed_ids(QueueId="p" + "0" * 32) == []
assert sorted(listed_ids(StartCreationTime=tencent_time(t0))) == sorted(submitted.values())
assert sorted(listed_ids(StartCreationTime=tencent_time(t0 - timedelta(hours=1)),
                         EndCreationTime=tencent_time(t0 + timedelta(hours=1)))) == sorted(submitted.values())
assert listed_ids(EndCreationTime=tencent_time(t0 - timedelta(seconds=1))) == []
assert listed_ids(StartCreationTime=tencent_time(t0 + timedelta(hours=1))) == []
assert client.ci_list_media_jobs(Bucket=B, Tag="Transcode").get("JobsDetail") in (None, []), "other tags match nothing"

# ---------------------------------------------------------------------------------------------
step("the queue (ci_get_media_pic_queue)")
queues = client.ci_get_media_pic_queue(Bucket=B)
assert queues["TotalCount"] == "1" and len(queues["QueueList"]) == 1, queues
queue = queues["QueueList"][0]
assert queue["Name"] == "queue-pic-process-1" and queue["State"] == "Active", queues
assert queue["QueueId"] == queue_id and queue["Category"] == "PicProcessing", queues
by_id = client.ci_get_media_pic_queue(Bucket=B, QueueIds=queue_id, State="Active", PageNumber="1", PageSize="10")
assert [q["QueueId"] for q in by_id["QueueList"]] == [queue_id], by_id

step("pause the queue (ci_update_media_pic_queue State=Paused)")
paused = client.ci_update_media_pic_queue(Bucket=B, QueueId=queue_id, Request={
    "Name": "queue-pic-process-1", "QueueID": queue_id, "State": "Paused",
    "NotifyConfig": {"State": "Off"}})
assert paused["Queue"][0]["State"] == "Paused" and paused["Queue"][0]["QueueId"] == queue_id, paused
assert client.ci_get_media_pic_queue(Bucket=B)["QueueList"][0]["State"] == "Paused"

step("jobs submitted to a paused queue wait in Pause; one is cancelled (ci_cancel_jobs)")
waiting = submit("clean.png")["JobsDetail"][0]
assert waiting["State"] == "Pause", waiting
resumed = submit(WEIRD, auto="false")["JobsDetail"][0]
assert resumed["State"] == "Pause", resumed
assert get_jobs([waiting["JobId"]])["JobsDetail"][0]["State"] == "Pause"
assert sorted(listed_ids(States="Pause")) == sorted([waiting["JobId"], resumed["JobId"]])
client.ci_cancel_jobs(Bucket=B, JobID=waiting["JobId"])
cancelled = get_jobs([waiting["JobId"]])["JobsDetail"][0]
assert cancelled["State"] == "Cancel" and "ImageInspectResult" not in cancelled["Operation"], cancelled
assert listed_ids(States="Cancel") == [waiting["JobId"]]

step("cancel refusals: a finished job, an unknown job")
e = expect_error(lambda: client.ci_cancel_jobs(Bucket=B, JobID=submitted["hls.png"]),
                 400, "InvalidArgument", "cancelling a finished job")
assert "Success" in e.get_error_msg(), e.get_error_msg()
expect_error(lambda: client.ci_cancel_jobs(Bucket=B, JobID=UNKNOWN_JOB), 404, "NoSuchJob", "cancelling an unknown job")

step("resume the queue (ci_update_media_pic_queue State=Active): the waiting job runs")
active = client.ci_update_media_pic_queue(Bucket=B, QueueId=queue_id, Request={
    "Name": "queue-pic-process-1", "QueueID": queue_id, "State": "Active", "NotifyConfig": {"State": "Off"}})
assert active["Queue"][0]["State"] == "Active", active
finished = wait_for(resumed["JobId"], ("Success", "Failed"))
assert finished["State"] == "Success", finished
assert finished["Operation"]["ImageInspectResult"]["ProcessResult"]["Suspicious"] == "true", finished
assert get_jobs([waiting["JobId"]])["JobsDetail"][0]["State"] == "Cancel", "a cancelled job stays cancelled"

step("bad input is a CosServiceError with Tencent's fields")
e = expect_error(lambda: submit("clean.png", level="7"), 400, "InvalidArgument", "JobLevel 7")
assert "JobLevel" in e.get_error_msg(), e.get_error_msg()

# ---------------------------------------------------------------------------------------------
step("signatures: a wrong SecretKey is 403 SignatureDoesNotMatch, an unknown SecretId 403 InvalidAccessKeyId")
wrong_key = make_client(args.secret_id, args.secret_key + "x")
unknown_id = make_client("AKIDnobodyHasThisId", args.secret_key)
for c, code in ((wrong_key, "SignatureDoesNotMatch"), (unknown_id, "InvalidAccessKeyId")):
    expect_error(lambda: submit("clean.png", c=c), 403, code, f"submit ({code})")
    expect_error(lambda: c.ci_get_media_jobs(Bucket=B, JobIDs=submitted["hls.png"]), 403, code, f"get job ({code})")
    expect_error(lambda: c.ci_list_media_jobs(Bucket=B, Tag="ImageInspect"), 403, code, f"list ({code})")
    expect_error(lambda: c.ci_cancel_jobs(Bucket=B, JobID=UNKNOWN_JOB), 403, code, f"cancel ({code})")
    expect_error(lambda: c.ci_get_media_pic_queue(Bucket=B), 403, code, f"get queue ({code})")
    expect_error(lambda: c.ci_process(Bucket=B, Key="clean.png", CiProcess="ImageInspect"), 403, code,
                 f"ci_process ({code})")
    expect_error(lambda: c.ci_image_inspect(Bucket=B, Key=WEIRD), 403, code, f"ci_image_inspect ({code})")
    expect_error(lambda: c.ci_get_pic_bucket(BucketNames=B), 403, code, f"ci_get_pic_bucket ({code})")
    expect_error(lambda: c.ci_close_pic_bucket(Bucket=B), 403, code, f"ci_close_pic_bucket ({code})")
assert client.ci_get_media_pic_queue(Bucket=B)["QueueList"][0]["State"] == "Active", "refused calls changed nothing"

# ---------------------------------------------------------------------------------------------
step("switch processing off (ci_close_pic_bucket): submits are refused with 403")
headers, data = client.ci_close_pic_bucket(Bucket=B)
assert data["PicBucket"]["BucketId"] == B, data
e = expect_error(lambda: submit("clean.png"), 403, "AccessDenied", "submit after ci_close_pic_bucket")
found = client.ci_get_pic_bucket(BucketNames=B)
assert B not in [b["Name"] for b in found.get("PicBucketList", [])], found
assert get_jobs([submitted["hls.png"]])["JobsDetail"][0]["State"] == "Success", "jobs are still readable"
print(f"python-sdk[{args.mode}]: all calls worked", flush=True)
