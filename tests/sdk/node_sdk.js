// Tencent's official Node SDK (cos-nodejs-sdk-v5, pinned in package.json) against a running
// `stowaway serve`:
//
//     (cd tests/sdk && npm ci) && node tests/sdk/node_sdk.js --port 8080 \
//         --secret-id AKIDtest --secret-key testSecretKey [--bucket examplebucket-1250000000]
//
// The CI APIs are used as Tencent's Node docs show them (spec §8.3): `cos.request` with an explicit
// `Url`, bodies made by `COS.util.json2xml`. Host is `127.0.0.1:<port>`, so the server works on
// its STOWAWAY_DEFAULT_BUCKET (--bucket, when given, is checked against the jobs' BucketId).
// The bucket must be fresh (no jobs yet) and hold `hls.png` and `dir/测 试 100%.png`
// (stowaway_testkit::png_with_ts(50)) and `clean.png` (stowaway_testkit::clean_png()), as
// crates/stowaway/tests/service.rs uploads them. Afterwards hls.png is moved to
// abnormal_images_backup/hls.png. Exits non-zero on the first surprise.
'use strict';
const assert = require('assert').strict;
const COS = require('cos-nodejs-sdk-v5');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`usage: node node_sdk.js --port N --secret-id ID --secret-key KEY [--bucket B]`);
  process.exit(2);
}
const PORT = arg('port');
const SECRET_ID = arg('secret-id');
const SECRET_KEY = arg('secret-key');
const BUCKET = arg('bucket', '');
const BASE = `http://127.0.0.1:${PORT}`;
const WEIRD = 'dir/测 试 100%.png';
const TS_PACKETS = 50; // png_with_ts(50)
const UNKNOWN_JOB = 'c' + '0'.repeat(32);

const client = (id, key) => new COS({ SecretId: id, SecretKey: key, Protocol: 'http:' });
const cos = client(SECRET_ID, SECRET_KEY);

function step(name) {
  console.log(`node-sdk: ${name}`);
}

// cos.request as a promise; `Key` is the path (signed as `/` + Key), the URL its encoded form.
function request(params, c = cos) {
  const url = `${BASE}/${params.Key.split('/').map(encodeURIComponent).join('/')}`;
  return new Promise((resolve, reject) =>
    c.request({ Url: url, ...params }, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

// Runs `call`, which must fail with HTTP `status` and COS error `code`, with Tencent's fields.
async function expectError(call, status, code, what) {
  let data;
  try {
    data = await call();
  } catch (err) {
    assert.equal(err.statusCode, status, `${what}: ${JSON.stringify(err)}`);
    assert.equal(err.code, code, `${what}: ${JSON.stringify(err)}`);
    const e = err.error || {};
    assert.equal(e.Code, code, `${what}: ${JSON.stringify(err)}`);
    for (const field of ['Message', 'Resource', 'RequestId', 'TraceId']) {
      assert.ok(e[field], `${what}: no ${field} in ${JSON.stringify(err)}`);
    }
    return err;
  }
  throw new Error(`${what}: succeeded (${JSON.stringify(data)}), wanted ${status} ${code}`);
}

const list = (x) => (x === undefined || x === null || x === '' ? [] : Array.isArray(x) ? x : [x]);

function submit(object, { level = '0', auto = 'true', processType = 'BackupObject' } = {}, c = cos) {
  const Body = COS.util.json2xml({
    Request: {
      Tag: 'ImageInspect',
      Input: { Object: object },
      Operation: {
        ImageInspect: { AutoProcess: auto, ProcessType: processType },
        UserData: 'This is my data & more', // json2xml escapes the &
        JobLevel: level,
      },
    },
  });
  return request({ Method: 'POST', Key: 'jobs', Body, ContentType: 'application/xml' }, c).then((data) => {
    assert.equal(data.statusCode, 200);
    assert.ok(data.headers['x-ci-request-id'], JSON.stringify(data.headers));
    return data.Response.JobsDetail;
  });
}

async function getJobs(ids) {
  const data = await request({ Method: 'GET', Key: `jobs/${ids.join(',')}` });
  return { jobs: list(data.Response.JobsDetail), missing: list(data.Response.NonExistJobIds) };
}

async function waitFor(jobId, states, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { jobs } = await getJobs([jobId]);
    assert.equal(jobs.length, 1, JSON.stringify(jobs));
    if (states.includes(jobs[0].State)) return jobs[0];
    assert.ok(Date.now() < deadline, `job ${jobId} still ${jobs[0].State}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function listJobs(query) {
  const data = await request({ Method: 'GET', Key: 'jobs', Query: { tag: 'ImageInspect', ...query } });
  return { jobs: list(data.Response.JobsDetail), next: data.Response.NextToken || '' };
}

async function inspect(key, c = cos) {
  const data = await request({ Method: 'GET', Key: key, Query: { 'ci-process': 'ImageInspect' }, RawBody: true }, c);
  assert.equal(data.statusCode, 200);
  assert.ok(Buffer.isBuffer(data.Body), `RawBody gives the bytes: ${typeof data.Body}`);
  assert.match(data.headers['content-type'], /^application\/json/);
  assert.ok(data.headers['x-cos-request-id'], JSON.stringify(data.headers));
  return JSON.parse(data.Body.toString('utf8'));
}

function updateQueue(queueId, state, method = 'PUT') {
  const Body = COS.util.json2xml({
    Request: { Name: 'queue-pic-process-1', State: state, NotifyConfig: { State: 'Off' } },
  });
  return request({ Method: method, Key: `picqueue/${queueId}`, Body, ContentType: 'application/xml' }).then(
    (data) => list(data.Response.Queue)[0]
  );
}

async function main() {
  step('activate (POST /picbucket)');
  const opened = (await request({ Method: 'POST', Key: 'picbucket' })).Response.PicBucket;
  if (BUCKET) assert.equal(opened.BucketId, BUCKET, JSON.stringify(opened));
  assert.equal(opened.Region, 'ap-chongqing', JSON.stringify(opened));

  step('synchronous ImageInspect (GET <key>?ci-process=ImageInspect, RawBody)');
  const clean = await inspect('clean.png');
  assert.deepEqual(Object.keys(clean).sort(), ['picSize', 'picType', 'suspicious'], JSON.stringify(clean));
  assert.ok(Number.isInteger(clean.picSize) && clean.picType === 'png' && clean.suspicious === false, JSON.stringify(clean));
  const verdict = await inspect(WEIRD);
  assert.deepEqual(
    { ...verdict },
    {
      picSize: clean.picSize + 188 * TS_PACKETS,
      picType: 'png',
      suspicious: true,
      suspiciousBeginByte: clean.picSize,
      suspiciousEndByte: clean.picSize + 188 * TS_PACKETS - 1,
      suspiciousSize: 188 * TS_PACKETS,
      suspiciousType: 'MPEG-TS',
      suspiciousConfidence: 'certain', // Stowaway's extension
    }
  );
  assert.deepEqual(await inspect('hls.png'), verdict);
  await expectError(() => inspect('no/such.png'), 404, 'NoSuchKey', 'ImageInspect of a missing key');

  step('submit (POST /jobs, body from COS.util.json2xml)');
  const submitted = await submit('hls.png', { level: '2' });
  const jobId = submitted.JobId;
  assert.match(jobId, /^c[0-9a-f]{32}$/);
  assert.equal(submitted.State, 'Submitted');
  assert.equal(submitted.Tag, 'ImageInspect');
  assert.equal(submitted.Input.Object, 'hls.png');
  if (BUCKET) assert.equal(submitted.Input.BucketId, BUCKET);
  assert.equal(submitted.Operation.UserData, 'This is my data & more');
  assert.equal(submitted.Operation.JobLevel, '2');
  const second = await submit(WEIRD, { auto: 'false' });

  step('query until finished (GET /jobs/<id>), then two at once with an unknown one');
  const done = await waitFor(jobId, ['Success', 'Failed']);
  assert.equal(done.State, 'Success', JSON.stringify(done));
  const result = done.Operation.ImageInspectResult;
  assert.equal(result.InputObjectName, 'hls.png');
  const p = result.ProcessResult;
  assert.deepEqual(
    [p.Suspicious, p.SuspiciousType, p.PicSize, p.SuspiciousBeginByte, p.SuspiciousEndByte, p.SuspiciousSize],
    ['true', 'MPEG-TS', ...[verdict.picSize, verdict.suspiciousBeginByte, verdict.suspiciousEndByte, verdict.suspiciousSize].map(String)]
  );
  assert.equal(p.SuspiciousConfidence, 'certain', JSON.stringify(p));
  assert.equal(p.AutoProcessResult.Code, 'Success', JSON.stringify(p));
  const weird = await waitFor(second.JobId, ['Success', 'Failed']);
  assert.equal(weird.State, 'Success', JSON.stringify(weird));
  assert.equal(weird.Input.Object, WEIRD);
  assert.equal(weird.Operation.ImageInspectResult.ProcessResult.AutoProcessResult, undefined);
  const both = await getJobs([jobId, second.JobId, UNKNOWN_JOB]);
  assert.deepEqual(both.jobs.map((j) => j.JobId).sort(), [jobId, second.JobId].sort());
  assert.deepEqual(both.missing, [UNKNOWN_JOB]);

  step('list (GET /jobs?tag=&size=&nextToken=&orderByTime=&states=)');
  const all = await listJobs({ size: '10', orderByTime: 'Desc', states: 'All' });
  assert.deepEqual(all.jobs.map((j) => j.JobId), [second.JobId, jobId]);
  assert.equal(all.next, '');
  const first = await listJobs({ size: '1', orderByTime: 'Asc' });
  assert.deepEqual(first.jobs.map((j) => j.JobId), [jobId]);
  assert.ok(first.next, 'a NextToken after a full page');
  const rest = await listJobs({ size: '1', orderByTime: 'Asc', nextToken: first.next });
  assert.deepEqual(rest.jobs.map((j) => j.JobId), [second.JobId]);
  assert.deepEqual((await listJobs({ states: 'Cancel' })).jobs, []);

  step('queue (GET /picqueue, PUT /picqueue/<id>)');
  const queues = (await request({ Method: 'GET', Key: 'picqueue' })).Response;
  const queue = list(queues.QueueList)[0];
  assert.equal(queue.Name, 'queue-pic-process-1');
  assert.equal(queue.State, 'Active');
  assert.equal(queue.QueueId, done.QueueId);
  assert.equal((await updateQueue(queue.QueueId, 'Paused')).State, 'Paused');

  step('cancel (PUT /jobs/<id>?cancel=) a job waiting in the paused queue');
  const waiting = await submit('clean.png');
  assert.equal(waiting.State, 'Pause');
  const cancelled = await request({ Method: 'PUT', Key: `jobs/${waiting.JobId}`, Query: { cancel: '' } });
  assert.equal(cancelled.statusCode, 200);
  assert.equal((await getJobs([waiting.JobId])).jobs[0].State, 'Cancel');
  const refused = await expectError(
    () => request({ Method: 'PUT', Key: `jobs/${jobId}`, Query: { cancel: '' } }),
    400,
    'InvalidArgument',
    'cancelling a finished job'
  );
  assert.match(refused.error.Message, /Success/);

  step('resume (POST /picqueue/<id>, as the Node docs send it)');
  assert.equal((await updateQueue(queue.QueueId, 'Active', 'POST')).State, 'Active');

  step('signatures: wrong SecretKey, unknown SecretId');
  for (const [c, code] of [
    [client(SECRET_ID, SECRET_KEY + 'x'), 'SignatureDoesNotMatch'],
    [client('AKIDnobodyHasThisId', SECRET_KEY), 'InvalidAccessKeyId'],
  ]) {
    await expectError(() => submit('clean.png', {}, c), 403, code, `POST /jobs (${code})`);
    await expectError(() => request({ Method: 'GET', Key: `jobs/${jobId}` }, c), 403, code, `GET /jobs/<id> (${code})`);
    await expectError(() => request({ Method: 'GET', Key: 'picqueue' }, c), 403, code, `GET /picqueue (${code})`);
    await expectError(() => inspect('clean.png', c), 403, code, `ImageInspect (${code})`);
  }
  console.log('node-sdk: all calls worked');
}

main().catch((err) => {
  console.error('node-sdk: FAILED:', err && err.stack ? err.stack : JSON.stringify(err));
  if (err && !err.stack) console.error(JSON.stringify(err, null, 2));
  process.exit(1);
});
