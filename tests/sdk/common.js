// SPDX-License-Identifier: MIT
// Shared by the sdk tests (run.sh): the command line, the TEST ONLY fixtures as docs/sdks.md
// names them, and the one way a check fails (a "FAIL:" line and exit status 1).
'use strict';

const fs = require('fs');
const path = require('path');

// fixtures/README.md, "Identities": merchant A and the platform.
const MCHID = '1900000109';
const MERCHANT_SERIAL = '3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D';
const PLATFORM_SERIAL = '6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2';
const PUB_KEY_ID = 'PUB_KEY_ID_0119000001092025112400000000000001';
const APPID = 'wxd678efh567hg6787';
const SERVICE_ID = '2002000000000558128851361561536';
const TIMEOUT_MS = 10000;

function fail(msg) {
  process.stdout.write(`FAIL: ${msg}\n`);
  process.exit(1);
}

function ok(msg) {
  process.stdout.write(`ok: ${msg}\n`);
}

// node SCRIPT --base URL --fixtures DIR --expect verified|forged --openid OPENID
//             [--mode cert|pubkey] [--cacert FILE]
// --mode cert (default): the SDK knows the platform certificate under its serial; pubkey: the
// platform public key under its PUB_KEY_ID (the mock must then sign with it: platform.default).
function parseArgs(argv) {
  const usage = 'usage: SCRIPT --base URL --fixtures DIR --expect verified|forged --openid OPENID'
    + ' [--mode cert|pubkey] [--cacert FILE]';
  const args = { mode: 'cert' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    if (!['--base', '--fixtures', '--expect', '--openid', '--mode', '--cacert'].includes(name)
        || i + 1 >= argv.length) {
      fail(`${usage} (at ${JSON.stringify(name)})`);
    }
    args[name.slice(2)] = argv[i + 1];
  }
  if (!args.base || !args.fixtures || !args.openid || !['verified', 'forged'].includes(args.expect)
      || !['cert', 'pubkey'].includes(args.mode)) {
    fail(usage);
  }
  args.platformId = args.mode === 'pubkey' ? PUB_KEY_ID : PLATFORM_SERIAL;
  const file = (rel) => fs.readFileSync(path.join(args.fixtures, rel));
  args.merchantKey = file('keys/test-merchant-a.key.pem');
  args.merchantCert = file('certs/test-merchant-a.cert.pem');
  args.platformCert = file('certs/test-platform.cert.pem');
  args.platformPub = file('keys/test-platform.pub.pem').toString('utf8');
  args.ca = args.cacert ? fs.readFileSync(args.cacert) : undefined;
  return args;
}

// What the mock must say about one authorization: the query's 200 body, already parsed.
function checkEntity(entity, openid) {
  if (!entity || entity.openid !== openid || entity.mchid !== MCHID || entity.service_id !== SERVICE_ID
      || typeof entity.authorization_state !== 'string') {
    fail(`query-by-openid: unexpected entity ${JSON.stringify(entity)}`);
  }
}

module.exports = {
  MCHID, MERCHANT_SERIAL, PLATFORM_SERIAL, PUB_KEY_ID, APPID, SERVICE_ID, TIMEOUT_MS, fail, ok, parseArgs, checkEntity,
};
