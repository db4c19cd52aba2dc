// SPDX-License-Identifier: MIT
// wechatpay-axios-plugin against wxpay-mock, set up as docs/sdks.md shows: `baseURL` is the mock,
// `certs` maps the platform serial to the platform certificate (--mode pubkey: the PUB_KEY_ID to
// the platform public key), and an https.Agent trusts the TEST CA. The SDK verifies every 2xx itself (lib/decorator.js responseVerifier).
//   --expect verified: the query by openid is a verified 200 naming the openid, the terminate a
//                      verified 204, both signed by the platform serial (or PUB_KEY_ID);
//   --expect forged:   against `--scenario forged.json`, both calls fail with the SDK's own
//                      EV3_RES_HEADER_SIGNATURE_DIGEST error on the mock's 200 and 204.
'use strict';

const https = require('https');
const { Wechatpay } = require('wechatpay-axios-plugin');
const c = require('./common');

const args = c.parseArgs(process.argv.slice(2));
const wxpay = new Wechatpay({
  mchid: c.MCHID,
  serial: c.MERCHANT_SERIAL,
  privateKey: args.merchantKey,
  certs: { [args.platformId]: args.mode === 'pubkey' ? args.platformPub : args.platformCert },
  baseURL: `${args.base}/`,
  timeout: c.TIMEOUT_MS,
  httpsAgent: args.ca ? new https.Agent({ ca: args.ca }) : undefined,
});
const permission = wxpay.v3.payscore.permissions.openid._openid_;

// Runs one call; returns its response when verified, or the SDK's error when forged.
async function call(what, status, run) {
  let res;
  try {
    res = await run();
  } catch (e) {
    const got = `${e.code} (HTTP ${e.response ? e.response.status : 'none'}): ${e.message}`;
    if (args.expect === 'forged' && e.code === 'EV3_RES_HEADER_SIGNATURE_DIGEST' && e.response
        && e.response.status === status) {
      c.ok(`${what}: the SDK refused the forged ${status}: ${e.code}`);
      return null;
    }
    c.fail(`${what}: ${got}`);
  }
  if (args.expect === 'forged') {
    c.fail(`${what}: the SDK accepted a forged answer (HTTP ${res.status})`);
  }
  if (res.status !== status || res.headers['wechatpay-serial'] !== args.platformId) {
    c.fail(`${what}: HTTP ${res.status}, Wechatpay-Serial ${res.headers['wechatpay-serial']}`);
  }
  c.ok(`${what}: verified ${status} signed by ${args.platformId}`);
  return res;
}

(async () => {
  const q = await call('query-by-openid', 200, () => permission.get({
    openid: args.openid,
    params: { appid: c.APPID, service_id: c.SERVICE_ID },
  }));
  if (q) {
    c.checkEntity(q.data, args.openid);
  }
  const t = await call('terminate-by-openid', 204, () => permission.terminate.post(
    { service_id: c.SERVICE_ID, appid: c.APPID, reason: 'wechatpay-axios-plugin sdk test' },
    { openid: args.openid },
  ));
  if (t && t.data !== '') {
    c.fail(`terminate-by-openid: a 204 with data ${JSON.stringify(t.data)}`);
  }
  process.stdout.write('ALL OK\n');
})().catch((e) => c.fail(e.stack || String(e)));
