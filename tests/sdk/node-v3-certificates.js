// SPDX-License-Identifier: MIT
// wechatpay-node-v3's own platform-certificate download against wxpay-mock (docs/sdks.md): its
// fetchCertificates(apiv3Key) asks GET /v3/certificates (through the IPayRequest given to
// createHttp(), as node-v3.js sets it up), decrypts each certificate with the APIv3 key and keeps
// its public key in Pay.certificates under serial_no. The SDK does not check the download's own
// signature, so this script does, with verifySign and the certificate just downloaded (the first
// download can only be checked with what it contains). Modes, as run.sh gives them:
//   --expect verified: the download gives the fixtures' platform key under its serial, the list
//     verifies with it; with Pay.certificates empty, verifySign on a terminate's 204 downloads by
//     itself and accepts; a wrong APIv3 key makes the download throw;
//   --expect verified --mode pubkey: a platform with only a public key: the download gets the
//     live server's 404 RESOURCE_NOT_EXISTS and throws, as for public-key-only merchants;
//   --expect forged: every answer forged: the SDK still takes the certificates (it verifies no
//     download), but verifySign refuses the list and the terminate.
'use strict';

const fs = require('fs');
const path = require('path');
const superagent = require('superagent');
const x509 = require('@fidm/x509');
const Pay = require('wechatpay-node-v3');
const c = require('./common');

const HOST = 'https://api.mch.weixin.qq.com';
const args = c.parseArgs(process.argv.slice(2));
const apiv3Key = fs.readFileSync(path.join(args.fixtures, 'keys/test-merchant-a.apiv3.key'), 'utf8')
  .trim();

function toMock(url) {
  if (!url.startsWith(`${HOST}/`)) {
    c.fail(`the SDK asked for ${url}, not a ${HOST} URL`);
  }
  return args.base + url.slice(HOST.length);
}

// fetchCertificates reads result.data.data: `data` is the parsed JSON body when there is one;
// `text` keeps the raw body for verifySign.
async function send(req, headers) {
  let r = req.set(headers).timeout(c.TIMEOUT_MS).ok(() => true);
  if (args.ca) {
    r = r.ca(args.ca);
  }
  const res = await r;
  let data = res.text;
  try {
    data = res.text ? JSON.parse(res.text) : res.text;
  } catch (e) {
    data = res.text;
  }
  return { status: res.status, data, text: res.text, headers: res.headers };
}

const pay = new Pay({
  appid: c.APPID,
  mchid: c.MCHID,
  publicKey: args.merchantCert,
  privateKey: args.merchantKey,
});
pay.createHttp({
  post: (url, params, headers) => send(superagent.post(toMock(url)).send(params), headers),
  get: (url, headers) => send(superagent.get(toMock(url)), headers),
  upload: () => Promise.reject(new Error('upload is not used by this test')),
});

function verify(res, extra) {
  return pay.verifySign({
    timestamp: res.headers['wechatpay-timestamp'],
    nonce: res.headers['wechatpay-nonce'],
    serial: res.headers['wechatpay-serial'],
    signature: res.headers['wechatpay-signature'],
    body: res.text,
    ...extra,
  });
}

async function signedGet(url) {
  return pay.httpService.get(url, pay.getHeaders(pay.buildAuthorization('GET', url)));
}

// Each terminate a new openid (the mock counts an unknown one as authorized once).
let terminations = 0;
async function terminate() {
  terminations += 1;
  const url = `${HOST}/v3/payscore/permissions/openid/${args.openid}-${terminations}/terminate`;
  const body = { service_id: c.SERVICE_ID, appid: c.APPID, reason: 'node-v3 certificate download' };
  const res = await pay.httpService.post(url, body,
    pay.getHeaders(pay.buildAuthorization('POST', url, body), { 'Content-Type': 'application/json' }));
  if (res.status !== 204) {
    c.fail(`terminate: HTTP ${res.status}: ${res.text}`);
  }
  return res;
}

async function throwsOnDownload(key, what) {
  Pay.certificates = {};
  try {
    await pay.fetchCertificates(key);
  } catch (e) {
    c.ok(`fetchCertificates ${what}: threw ${JSON.stringify(String(e.message || e))}`);
    return;
  }
  c.fail(`fetchCertificates ${what}: did not throw`);
}

(async () => {
  const fixturePub = x509.Certificate.fromPEM(args.platformCert).publicKey.toPEM();
  if (args.mode === 'pubkey') {
    const res = await signedGet(`${HOST}/v3/certificates`);
    if (res.status !== 404 || !res.data || res.data.code !== 'RESOURCE_NOT_EXISTS') {
      c.fail(`public-key-only download: HTTP ${res.status}: ${res.text}`);
    }
    c.ok(`public-key-only download: 404 RESOURCE_NOT_EXISTS ${res.data.message}`);
    await throwsOnDownload(apiv3Key, 'for a public-key-only merchant');
    process.stdout.write('ALL OK\n');
    return;
  }

  Pay.certificates = {};
  await pay.fetchCertificates(apiv3Key);
  const serials = Object.keys(Pay.certificates);
  if (serials.length !== 1 || Pay.certificates[c.PLATFORM_SERIAL] !== fixturePub) {
    c.fail(`fetchCertificates kept ${JSON.stringify(serials)}, not the fixtures' platform key`);
  }
  c.ok(`fetchCertificates decrypted the platform certificate ${c.PLATFORM_SERIAL}`);

  const list = await signedGet(`${HOST}/v3/certificates`);
  const listOk = list.status === 200 && await verify(list);
  const t = await terminate();
  const tOk = await verify(t);
  if (args.expect === 'forged') {
    if (listOk || tOk) {
      c.fail(`verifySign accepted a forged answer (list ${listOk}, terminate ${tOk})`);
    }
    c.ok('the SDK took the forged download (it verifies none); verifySign refused the list and the 204');
    process.stdout.write('ALL OK\n');
    return;
  }
  if (!listOk || !tOk) {
    c.fail(`verifySign refused the mock's answers (list ${listOk}, terminate ${tOk})`);
  }
  c.ok('verifySign accepted the list and the 204 with the downloaded certificate');

  // With nothing known, verifySign downloads by itself on the unknown serial.
  Pay.certificates = {};
  if (!(await verify(await terminate(), { apiSecret: apiv3Key }))
      || Pay.certificates[c.PLATFORM_SERIAL] !== fixturePub) {
    c.fail('verifySign with an empty Pay.certificates did not download and accept');
  }
  c.ok('verifySign downloaded the certificates on an unknown serial and accepted the 204');

  // Another merchant's APIv3 key cannot decrypt the list: the AES-GCM tag does not match.
  const wrongKey = fs.readFileSync(path.join(args.fixtures, 'keys/test-merchant-b.apiv3.key'), 'utf8')
    .trim();
  await throwsOnDownload(wrongKey, 'with a wrong APIv3 key');
  process.stdout.write('ALL OK\n');
})().catch((e) => c.fail(e.stack || String(e)));
