// SPDX-License-Identifier: MIT
// axios-adapter.js: wechatpay-axios-plugin as a wxpay-conformance client (terminate by openid),
// writing the result file (docs/conformance.md#the-result-file). TEST ONLY keys come from the
// runner's environment. Run with the plugin installed (NODE_PATH pointing at its node_modules).
const fs = require('fs'), { Wechatpay } = require('wechatpay-axios-plugin'), e = process.env;
const out = (r) => fs.writeFileSync(e.WXPAY_RESULT_FILE, JSON.stringify(r));
const w = new Wechatpay({ mchid: e.WXPAY_MCHID, serial: e.WXPAY_MCH_SERIAL, baseURL: e.WXPAY_BASE_URL + '/',
  privateKey: fs.readFileSync(e.WXPAY_MCH_KEY), certs: { [e.WXPAY_PLATFORM_SERIAL]: fs.readFileSync(e.WXPAY_PLATFORM_CERT) } });
w.v3.payscore.permissions.openid._openid_.terminate.post({ service_id: e.WXPAY_SERVICE_ID, appid: e.WXPAY_APPID,
  reason: e.WXPAY_REASON }, { openid: e.WXPAY_OPENID })
  .then((r) => out({ status: r.status, code: null, verified: true, error: null }))
  .catch((x) => { const s = x.response ? x.response.status : null, forged = /^EV3_RES/.test(x.code || '');
    out({ status: s, code: (x.response && x.response.data && x.response.data.code) || null,
      verified: forged ? false : null, error: x.message }); process.exitCode = 1; });
