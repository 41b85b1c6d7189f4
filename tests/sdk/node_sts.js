// Tencent's official Node SDK (cos-nodejs-sdk-v5) with a temporary key, against `stowaway serve`:
//
//     node tests/sdk/node_sts.js --port 8080 --credentials "$(stowaway token …)" --expired "$(…)"
//
// Configured as Tencent's docs say for temporary keys: `getAuthorization` hands the SDK the
// TmpSecretId, TmpSecretKey, SecurityToken and ExpiredTime a backend fetched (here, the
// GetFederationToken answers `stowaway token` printed). The same policy and bucket as
// tests/sdk/python_sts.py; Host is the server's address, so the server uses its default bucket.
'use strict';
const assert = require('assert').strict;
const COS = require('cos-nodejs-sdk-v5');

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error('usage: node node_sts.js --port N --credentials JSON --expired JSON');
    process.exit(2);
  }
  return process.argv[i + 1];
}
const BASE = `http://127.0.0.1:${arg('port')}`;

function client(answer) {
  const r = JSON.parse(answer);
  return new COS({
    Protocol: 'http:',
    getAuthorization: (options, callback) =>
      callback({
        TmpSecretId: r.Credentials.TmpSecretId,
        TmpSecretKey: r.Credentials.TmpSecretKey,
        SecurityToken: r.Credentials.Token,
        StartTime: r.ExpiredTime - 900,
        ExpiredTime: r.ExpiredTime,
      }),
  });
}

function request(c, params) {
  const url = `${BASE}/${params.Key.split('/').map(encodeURIComponent).join('/')}`;
  return new Promise((resolve, reject) =>
    c.request({ Url: url, ...params }, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

async function expectError(call, status, code, what) {
  try {
    const data = await call();
    throw new Error(`${what}: succeeded (${JSON.stringify(data)}), wanted ${status} ${code}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(what)) throw err;
    assert.equal(err.statusCode, status, `${what}: ${JSON.stringify(err)}`);
    assert.equal(err.code, code, `${what}: ${JSON.stringify(err)}`);
    return err;
  }
}

const inspect = (c, key) =>
  request(c, { Method: 'GET', Key: key, Query: { 'ci-process': 'ImageInspect' }, RawBody: true }).then((d) =>
    JSON.parse(d.Body.toString('utf8'))
  );

function submit(c, object) {
  const Body = COS.util.json2xml({ Request: { Tag: 'ImageInspect', Input: { Object: object } } });
  return request(c, { Method: 'POST', Key: 'jobs', Body, ContentType: 'application/xml' }).then(
    (d) => d.Response.JobsDetail
  );
}

async function main() {
  const tmp = client(arg('credentials'));
  console.log('node-sts: synchronous ImageInspect under the prefix');
  const result = await inspect(tmp, 'uploads/hls.png');
  assert.equal(result.suspicious, true, JSON.stringify(result));
  await expectError(() => inspect(tmp, 'private/hls.png'), 403, 'AccessDenied', 'inspecting outside the policy');

  console.log('node-sts: a job under the prefix, read back');
  const job = await submit(tmp, 'uploads/hls.png');
  const deadline = Date.now() + 30000;
  for (;;) {
    const d = await request(tmp, { Method: 'GET', Key: `jobs/${job.JobId}` });
    if (d.Response.JobsDetail.State === 'Success') break;
    assert.ok(Date.now() < deadline, JSON.stringify(d.Response));
    await new Promise((r) => setTimeout(r, 200));
  }
  await expectError(() => submit(tmp, 'private/hls.png'), 403, 'AccessDenied', 'a job outside the policy');
  await expectError(() => request(tmp, { Method: 'GET', Key: 'jobs' }), 403, 'AccessDenied', 'listing jobs');

  console.log('node-sts: an expired key');
  await expectError(() => inspect(client(arg('expired')), 'uploads/hls.png'), 400, 'ExpiredToken', 'an expired token');
  console.log('node-sts: all calls worked');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
