"""Tencent's official Python SDK (cos-python-sdk-v5) with a temporary key, against `stowaway serve`.

    python3 tests/sdk/python_sts.py --port 8080 --bucket examplebucket-1250000000 \
        --credentials "$(stowaway token --policy policy.json)" --expired "$(stowaway token --duration 1 …)"

--credentials and --expired are GetFederationToken answers (`stowaway token` prints one); the
policy must allow ci:CreateImageInspectJob and ci:CreateMediaJobs on `uploads/*` and
ci:DescribeMediaJob on the bucket, nothing else. The SDK is configured as Tencent's docs say for
temporary keys (`CosConfig(SecretId=TmpSecretId, SecretKey=TmpSecretKey, Token=Token)`).
The bucket holds `uploads/hls.png` and `private/hls.png` (stowaway_testkit::png_with_ts(50)).
"""
import argparse
import json
import time

from qcloud_cos import CosConfig, CosS3Client
from tencent_errors import expect_error

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--credentials", required=True)
ap.add_argument("--expired", required=True)
args = ap.parse_args()
B = args.bucket


def client(answer):
    c = json.loads(answer)["Credentials"]
    config = CosConfig(Region="ap-chongqing", SecretId=c["TmpSecretId"], SecretKey=c["TmpSecretKey"],
                       Token=c["Token"], Scheme="http", IP="127.0.0.1", Port=args.port)
    return CosS3Client(config, retry=0)


def step(name):
    print(f"python-sts: {name}", flush=True)




def submit(c, obj):
    return c.ci_create_media_jobs(Bucket=B, Lst={}, ContentType="application/xml", Jobs={
        "Tag": "ImageInspect", "Input": {"Object": obj}, "Operation": {"UserData": "temporary"}})


tmp = client(args.credentials)
step("synchronous ImageInspect under the policy's prefix (x-cos-security-token)")
result = tmp.ci_process(Bucket=B, Key="uploads/hls.png", CiProcess="ImageInspect")
assert result["suspicious"] is True and result["suspiciousType"] == "MPEG-TS", result
step("outside the prefix: AccessDenied")
e = expect_error(lambda: tmp.ci_process(Bucket=B, Key="private/hls.png", CiProcess="ImageInspect"),
                 403, "AccessDenied", "inspecting outside the policy")
assert "private/hls.png" in e.get_error_msg(), e.get_error_msg()

step("a job under the prefix (x-ci-security-token), read back")
job = submit(tmp, "uploads/hls.png")["JobsDetail"][0]
deadline = time.time() + 30
while True:
    detail = tmp.ci_get_media_jobs(Bucket=B, JobIDs=job["JobId"])["JobsDetail"][0]
    if detail["State"] == "Success":
        break
    assert time.time() < deadline, detail
    time.sleep(0.2)
assert detail["Operation"]["ImageInspectResult"]["ProcessResult"]["SuspiciousType"] == "MPEG-TS", detail
expect_error(lambda: submit(tmp, "private/hls.png"), 403, "AccessDenied", "a job outside the policy")
step("an action the policy does not name: AccessDenied")
expect_error(lambda: tmp.ci_list_media_jobs(Bucket=B, Tag="ImageInspect"), 403, "AccessDenied", "listing jobs")

step("an expired key: ExpiredToken")
expect_error(lambda: client(args.expired).ci_process(Bucket=B, Key="uploads/hls.png", CiProcess="ImageInspect"),
             400, "ExpiredToken", "an expired token")
print("python-sts: all calls worked")
