// SPDX-License-Identifier: MIT
// wechatpay-node-v3 against wxpay-mock, set up as docs/sdks.md shows. Its URLs are literal
// https://api.mch.weixin.qq.com strings, signed before they reach the HTTP layer, so an
// IPayRequest given to createHttp() sends them to the mock instead (the signature, over the path,
// is unchanged). The SDK checks no answer by itself: its verifySign() is called on every answer
// with the raw body and the Wechatpay-* headers, which its own IPayRequest does not return, hence
// the custom one here. Pay.certificates is seeded with the platform certificate's public key under
// its serial, taken out of the certificate the way the SDK's own fetchCertificates does (--mode
// pubkey: the platform public key under its PUB_KEY_ID); an unknown serial would make verifySign
// download GET /v3/certificates.
//   --expect verified: the query by openid is a 200 and the terminate a 204, both verifySign true;
//   --expect forged:   against `--scenario forged.json`, verifySign is false on both.
'use strict';

const superagent = require('superagent');
const x509 = require('@fidm/x509');
const Pay = require('wechatpay-node-v3');
const c = require('./common');

const HOST = 'https://api.mch.weixin.qq.com';
const args = c.parseArgs(process.argv.slice(2));

function toMock(url) {
  if (!url.startsWith(`${HOST}/`)) {
    c.fail(`the SDK asked for ${url}, not a ${HOST} URL`);
  }
  return args.base + url.slice(HOST.length);
}

// The answer as it came: status, raw text and headers (ok(): a 4xx is an answer, not a throw).
async function send(req, headers) {
  let r = req.set(headers).timeout(c.TIMEOUT_MS).ok(() => true);
  if (args.ca) {
    r = r.ca(args.ca);
  }
  const res = await r;
  return { status: res.status, data: res.text, headers: res.headers };
}

const http = {
  post: (url, params, headers) => send(superagent.post(toMock(url)).send(params), headers),
  get: (url, headers) => send(superagent.get(toMock(url)), headers),
  upload: () => Promise.reject(new Error('upload is not used by this test')),
};

const pay = new Pay({
  appid: c.APPID,
  mchid: c.MCHID,
  publicKey: args.merchantCert,
  privateKey: args.merchantKey,
});
pay.createHttp(http);
Pay.certificates[args.platformId] = args.mode === 'pubkey'
  ? args.platformPub : x509.Certificate.fromPEM(args.platformCert).publicKey.toPEM();

async function call(what, status, method, url, body) {
  const authorization = pay.buildAuthorization(method, url, body);
  const res = method === 'POST'
    ? await pay.httpService.post(url, body, pay.getHeaders(authorization, { 'Content-Type': 'application/json' }))
    : await pay.httpService.get(url, pay.getHeaders(authorization));
  if (res.status !== status || res.headers['wechatpay-serial'] !== args.platformId) {
    c.fail(`${what}: HTTP ${res.status}, Wechatpay-Serial ${res.headers['wechatpay-serial']}: ${res.data}`);
  }
  const verified = await pay.verifySign({
    timestamp: res.headers['wechatpay-timestamp'],
    nonce: res.headers['wechatpay-nonce'],
    serial: res.headers['wechatpay-serial'],
    signature: res.headers['wechatpay-signature'],
    body: res.data,
  });
  if (args.expect === 'forged') {
    if (verified !== false) {
      c.fail(`${what}: verifySign accepted a forged ${status}`);
    }
    c.ok(`${what}: verifySign refused the forged ${status}`);
    return null;
  }
  if (verified !== true) {
    c.fail(`${what}: verifySign refused the mock's ${status}`);
  }
  c.ok(`${what}: verifySign accepted the ${status} signed by ${args.platformId}`);
  return res;
}

(async () => {
  const query = new URLSearchParams({ appid: c.APPID, service_id: c.SERVICE_ID });
  const base = `${HOST}/v3/payscore/permissions/openid/${args.openid}`;
  const q = await call('query-by-openid', 200, 'GET', `${base}?${query}`);
  if (q) {
    c.checkEntity(JSON.parse(q.data), args.openid);
  }
  const t = await call('terminate-by-openid', 204, 'POST', `${base}/terminate`,
    { service_id: c.SERVICE_ID, appid: c.APPID, reason: 'wechatpay-node-v3 sdk test' });
  if (t && t.data !== '') {
    c.fail(`terminate-by-openid: a 204 with body ${JSON.stringify(t.data)}`);
  }
  process.stdout.write('ALL OK\n');
})().catch((e) => c.fail(e.stack || String(e)));
