// SPDX-License-Identifier: MIT
// A real SDK's own notification code receives wxpay-mock's notifications (docs/sdks.md#notifications).
// A node http server on 127.0.0.1 port 0 is the notify_url; each POST is checked as the SDK's
// documentation shows, with the SDK's own functions:
//   --sdk axios-plugin: Formatter.response builds the verify string, Rsa.verify checks the
//                       signature, Aes.AesGcm.decrypt decrypts the resource;
//   --sdk node-v3:      pay.verifySign checks the signature (key from Pay.certificates),
//                       pay.decipher_gcm decrypts the resource with the APIv3 key.
// What the SDKs leave to the caller is done here and named as such in each verdict: the key
// lookup by Wechatpay-Serial (axios-plugin), the ±300 s timestamp window (both), parsing the
// plaintext as JSON (node-v3 returns a string when it is not).
// The run: apply (through wechatpay-axios-plugin, notify_url = the receiver), the user accepts
// (admin API): the SDK verifies and decrypts USER_OPEN_SERVICE and the fields are checked; the
// user closes: USER_CLOSE_SERVICE likewise; then one notification per mock fault, each with the
// verdict that SDK's code gives (see FAULTS).
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const { Wechatpay, Rsa, Formatter, Aes } = require('wechatpay-axios-plugin');
const Pay = require('wechatpay-node-v3');
const x509 = require('@fidm/x509');
const c = require('./common');

const argv = process.argv.slice(2);
const sdkAt = argv.indexOf('--sdk');
const SDK = sdkAt >= 0 ? argv[sdkAt + 1] : '';
if (!['axios-plugin', 'node-v3'].includes(SDK)) {
  c.fail('usage: notify.js --sdk axios-plugin|node-v3 --base URL --fixtures DIR --expect verified'
    + ' --openid OPENID [--mode cert|pubkey]');
}
const args = c.parseArgs(argv.filter((_, i) => i !== sdkAt && i !== sdkAt + 1));
const APIV3_KEY = fs.readFileSync(path.join(args.fixtures, 'keys/test-merchant-a.apiv3.key'), 'utf8').trim();
const WINDOW_S = 300;

// Who refuses each fault of docs/notifications.md#faults, as seen with the pinned versions.
// 'accepted' is a weakness of that SDK (docs/sdks.md says so), asserted so that a change shows.
const FAULTS = {
  'axios-plugin': {
    signtest: 'sdk-verify',
    unknown_serial: 'caller-serial',
    stale_timestamp: 'caller-timestamp',
    tampered_ciphertext: 'sdk-decrypt',
    tampered_tag: 'sdk-decrypt',
  },
  'node-v3': {
    signtest: 'sdk-verify',
    unknown_serial: 'sdk-verify',
    stale_timestamp: 'caller-timestamp',
    tampered_ciphertext: 'caller-json',
    tampered_tag: 'accepted',
  },
};

// ---- the SDK's checks ----

const axiosCerts = { [args.platformId]: args.mode === 'pubkey' ? args.platformPub : args.platformCert };

function checkAxios(h, body) {
  const key = axiosCerts[h['wechatpay-serial']];
  if (!key) {
    return { by: 'caller-serial', why: `unknown Wechatpay-Serial ${h['wechatpay-serial']}` };
  }
  const message = Formatter.response(h['wechatpay-timestamp'], h['wechatpay-nonce'], body);
  if (!Rsa.verify(message, h['wechatpay-signature'] || '', key)) {
    return { by: 'sdk-verify', why: 'Rsa.verify: false' };
  }
  const r = JSON.parse(body).resource;
  let plain;
  try {
    plain = Aes.AesGcm.decrypt(r.ciphertext, APIV3_KEY, r.nonce, r.associated_data);
  } catch (e) {
    return { by: 'sdk-decrypt', why: `AesGcm.decrypt: ${e.message}` };
  }
  return { plain };
}

// node-v3 reads the key by serial from the static map, and downloads on a miss through the
// service given to createHttp: here one that refuses, so nothing leaves this machine.
const pay = new Pay({
  appid: c.APPID,
  mchid: c.MCHID,
  publicKey: args.merchantCert,
  privateKey: args.merchantKey,
  key: APIV3_KEY,
});
pay.createHttp({
  post: () => Promise.reject(new Error('no download in this test')),
  get: () => Promise.reject(new Error('no download in this test')),
  upload: () => Promise.reject(new Error('no download in this test')),
});
Pay.certificates = {
  [args.platformId]: args.mode === 'pubkey' ? args.platformPub
    : x509.Certificate.fromPEM(args.platformCert).publicKey.toPEM(),
};

async function checkNodeV3(h, body) {
  let verified;
  try {
    verified = await pay.verifySign({
      timestamp: h['wechatpay-timestamp'],
      nonce: h['wechatpay-nonce'],
      serial: h['wechatpay-serial'],
      signature: h['wechatpay-signature'],
      body,
    });
  } catch (e) {
    return { by: 'sdk-verify', why: `verifySign threw: ${e.message}` };
  }
  if (verified !== true) {
    return { by: 'sdk-verify', why: 'verifySign: false' };
  }
  const r = JSON.parse(body).resource;
  let out;
  try {
    out = pay.decipher_gcm(r.ciphertext, r.associated_data, r.nonce);
  } catch (e) {
    return { by: 'sdk-decrypt', why: `decipher_gcm: ${e.message}` };
  }
  return { plain: typeof out === 'string' ? out : JSON.stringify(out) };
}

async function check(h, body) {
  const v = SDK === 'axios-plugin' ? checkAxios(h, body) : await checkNodeV3(h, body);
  if (v.by) {
    return v;
  }
  /* The caller's share: the window the SDKs do not check for notifications. */
  const age = Math.abs(Math.floor(Date.now() / 1000) - Number(h['wechatpay-timestamp']));
  if (!(age <= WINDOW_S)) {
    return { by: 'caller-timestamp', why: `Wechatpay-Timestamp ${age} s away` };
  }
  let resource;
  try {
    resource = JSON.parse(v.plain);
  } catch (e) {
    resource = null;
  }
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return { by: 'caller-json', why: 'the decrypted resource is not a JSON object' };
  }
  return { by: 'accepted', envelope: JSON.parse(body), resource };
}

// ---- the receiver ----

const verdicts = [];
let waiting = null;
const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (d) => {
    size += d.length;
    if (size <= 262144) {
      chunks.push(d);
    }
  });
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let v;
    try {
      v = req.method === 'POST' && size <= 262144 ? await check(req.headers, body)
        : { by: 'caller-http', why: `${req.method}, ${size} bytes` };
    } catch (e) {
      v = { by: 'caller-json', why: `cannot read the envelope: ${e.message}` };
    }
    if (v.by === 'accepted') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 'FAIL', message: v.why }));
    }
    verdicts.push(v);
    if (waiting) {
      waiting();
    }
  });
});

// The next verdict, within TIMEOUT_MS.
async function next(what) {
  const deadline = Date.now() + c.TIMEOUT_MS;
  while (verdicts.length === 0) {
    if (Date.now() > deadline) {
      c.fail(`${what}: no notification reached the receiver in ${c.TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => {
      waiting = resolve;
      setTimeout(resolve, 100);
    });
    waiting = null;
  }
  return verdicts.shift();
}

async function admin(pathname, body, status) {
  const res = await fetch(`${args.base}${pathname}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== status) {
    c.fail(`POST ${pathname}: HTTP ${res.status} ${text}`);
  }
  return text;
}

function expectEvent(v, what, event, status, code) {
  if (v.by !== 'accepted') {
    c.fail(`${what}: ${SDK} refused it (${v.by}): ${v.why}`);
  }
  const r = v.resource;
  const want = { appid: c.APPID, mchid: c.MCHID, service_id: c.SERVICE_ID, openid: args.openid,
    user_service_status: status };
  for (const [k, val] of Object.entries(want)) {
    if (r[k] !== val) {
      c.fail(`${what}: resource.${k} is ${JSON.stringify(r[k])}, not ${JSON.stringify(val)}`);
    }
  }
  if (v.envelope.event_type !== event || !/^[0-9]{14}$/.test(r.openorclose_time)
      || (code !== undefined && r.authorization_code !== code)) {
    c.fail(`${what}: ${JSON.stringify(v.envelope.event_type)} ${JSON.stringify(r)}`);
  }
  c.ok(`${what}: ${SDK} verified and decrypted ${event}: ${JSON.stringify(r)}`);
}

(async () => {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const notifyUrl = `http://127.0.0.1:${server.address().port}/wxpay/notify`;
  const code = `sdk-notify-${args.mode}-${SDK}`;

  // The merchant's apply, made with wechatpay-axios-plugin (its answer verified by it).
  const merchant = new Wechatpay({
    mchid: c.MCHID,
    serial: c.MERCHANT_SERIAL,
    privateKey: args.merchantKey,
    certs: axiosCerts,
    baseURL: `${args.base}/`,
    timeout: c.TIMEOUT_MS,
  });
  const applied = await merchant.v3.payscore.permissions.post({
    service_id: c.SERVICE_ID, appid: c.APPID, authorization_code: code, notify_url: notifyUrl,
  });
  if (applied.status !== 200 || !applied.data.apply_permissions_token) {
    c.fail(`apply: HTTP ${applied.status} ${JSON.stringify(applied.data)}`);
  }
  c.ok(`apply: ${code}, notify_url ${notifyUrl}`);

  await admin('/__admin/payscore/user-accept',
    { service_id: c.SERVICE_ID, openid: args.openid, authorization_code: code }, 200);
  expectEvent(await next('user-accept'), 'user-accept', 'PAYSCORE.USER_OPEN_SERVICE',
    'USER_OPEN_SERVICE', code);
  await admin('/__admin/payscore/user-close', { service_id: c.SERVICE_ID, openid: args.openid }, 200);
  expectEvent(await next('user-close'), 'user-close', 'PAYSCORE.USER_CLOSE_SERVICE',
    'USER_CLOSE_SERVICE', undefined);

  for (const [fault, by] of Object.entries(FAULTS[SDK])) {
    await admin('/__admin/notifications', {
      event_type: 'PAYSCORE.USER_OPEN_SERVICE',
      summary: '授权成功',
      url: notifyUrl,
      fault,
      resource: { appid: c.APPID, mchid: c.MCHID, out_request_no: null, service_id: c.SERVICE_ID,
        openid: args.openid, user_service_status: 'USER_OPEN_SERVICE',
        openorclose_time: '20261204172000' },
    }, 201);
    const v = await next(fault);
    if (v.by !== by) {
      c.fail(`fault ${fault}: expected ${by}, got ${v.by}${v.why ? `: ${v.why}` : ''}`);
    }
    c.ok(`fault ${fault}: ${by === 'accepted' ? `${SDK} accepted it` : `refused by ${by}: ${v.why}`}`);
  }
  server.close();
  process.stdout.write('ALL OK\n');
})().catch((e) => c.fail(e.stack || String(e)));
