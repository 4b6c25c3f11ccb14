// demo-walk.mjs walks the tutorial's manual test through an example server's demo page
// in Debian's chromium, driven by playwright-core, and saves screenshots of the page.
//
//   node demo-walk.mjs BASE_URL EMAIL SCREENSHOT.png [PASSWORD]
//
// Sign in through the development identity provider's page, call the protected API,
// log out, put the old access token back into localStorage by hand and see the
// protected call fail, sign in again, refresh, call the protected API with the new
// token, list the sessions, log out everywhere. SCREENSHOT.png shows the signed-in page
// with its sessions, SCREENSHOT-end.png the page at the end (SCREENSHOT-failed.png
// where a step failed).
//
// With PASSWORD (the server has EMAIL with that password in GATEHOUSE_USERS_FILE, and
// EMAIL in GATEHOUSE_ADMINS), then: a wrong password is refused on the page, sign in
// with the password form, call the admin API, open the server-rendered account page,
// wait until the access token in the cookie has expired (the server runs with a short
// GATEHOUSE_ACCESS_TTL) and open the account page again: it opens through at most two
// same-origin redirects, never the identity provider or the sign-in.
// SCREENSHOT-account.png shows the account page opened after the expiry.
//
// Exit status 0: every step passed; each step is printed as a JSON line on stdout.
// Exit status 1: a step failed, the reason on stderr. Exit status 2: bad usage.
// CHROMIUM overrides the browser binary (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const [base, email, shot, password] = process.argv.slice(2);
if (!base || !email || !shot || !shot.endsWith('.png')) {
  console.error('usage: node demo-walk.mjs BASE_URL EMAIL SCREENSHOT.png [PASSWORD]');
  process.exit(2);
}
const shotAs = (suffix) => shot.replace(/\.png$/, `${suffix}.png`);

const timer = setTimeout(() => {
  console.error('demo-walk: timed out after 90s');
  process.exit(1);
}, 90_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1120, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15_000);

// Anything the page itself gets wrong: uncaught errors, CSP refusals. The browser logs
// every 4xx answer of fetch as a console error too; those are the walk's expected
// failures, checked on the page instead.
const problems = [];
page.on('pageerror', (err) => problems.push(`uncaught error: ${err.message}`));
page.on('console', (msg) => {
  if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
    problems.push(`console error: ${msg.text()}`);
  }
});

let stepName = 'start';
function check(cond, what) {
  if (!cond) {
    throw new Error(what);
  }
}
function step(name, detail = {}) {
  console.log(JSON.stringify({ step: name, ...detail }));
}

const accessToken = () => page.evaluate(() => localStorage.getItem('access_token'));

// press clicks a button of the page and returns the result it shows.
async function press(selector) {
  const before = await page.getAttribute('#result', 'data-seq');
  await page.click(selector);
  await page.waitForFunction((prev) => document.querySelector('#result').dataset.seq !== prev, before);
  return {
    status: Number(await page.getAttribute('#result', 'data-status')),
    body: await page.textContent('#result-body'),
    title: await page.textContent('#result-title'),
  };
}

async function signedIn() {
  return (await page.getAttribute('#state', 'data-signed-in')) === 'true';
}

// signIn goes through the development identity provider's page and back, and returns
// the access token the page stored.
async function signIn() {
  await page.click('#signin');
  await page.waitForURL((u) => u.pathname.endsWith('/devidp/authorize'));
  const banner = await page.textContent('#devidp-banner');
  check(/Development identity provider/.test(banner) && /Never enable it in production/.test(banner),
    `no development banner on the provider's page: ${banner}`);
  await page.fill('#email', email);
  await page.click('#submit');
  // Wait for the page's own answer to the sign-in (the refresh that trades the cookie for
  // the first access token), not just for "signed in": a token left in localStorage
  // from before would make that true at once.
  await page.waitForFunction(() => document.querySelector('#result').dataset.label === 'Sign-in: first access token');
  const r = {
    status: Number(await page.getAttribute('#result', 'data-status')),
    title: await page.textContent('#result-title'),
  };
  check(r.status === 200 && /first access token/.test(r.title), `sign-in: ${r.title}`);
  check(await signedIn(), 'the page does not say "signed in" after a successful sign-in');
  check(new URL(page.url()).search === '', `the page kept the query after sign-in: ${page.url()}`);
  const state = await page.textContent('#state');
  check(state.includes(email), `state after sign-in: ${state}`);
  const t = await accessToken();
  check(t && t.split('.').length === 3, `no access token in localStorage: ${t}`);
  return t;
}

// accessCookie is the access token in the browser's HttpOnly access cookie.
async function accessCookie() {
  const c = (await context.cookies(base)).find((k) => k.name === 'gatehouse_access');
  return c ? c.value : null;
}

function claimsOf(t) {
  return JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
}

// passwordWalk is the walk's second part, with the app's own user (see the top).
async function passwordWalk() {
  stepName = 'a wrong password is refused';
  await page.fill('#username', email);
  await page.fill('#password', 'not the password');
  let r = await press('#password-signin');
  check(r.status === 400 && JSON.parse(r.body).error === 'invalid_grant' && !(await signedIn()), `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'sign in with a password';
  await page.fill('#username', email);
  await page.fill('#password', password);
  // The route sets the cookies and sends the page back to itself, which then trades
  // the refresh cookie for its first access token.
  const loaded = page.waitForEvent('load');
  await page.click('#password-signin');
  await loaded;
  await page.waitForFunction(() => document.querySelector('#result').dataset.label === 'Sign-in: first access token');
  r = { status: Number(await page.getAttribute('#result', 'data-status')), body: await page.textContent('#result-body') };
  check(r.status === 200 && (await signedIn()), `${r.status} ${r.body}`);
  const t = await accessToken();
  const c = claimsOf(t);
  check(c.sub === `user:${email.toLowerCase()}` && c.email === email && (c.roles || []).includes('admin'), `claims ${JSON.stringify(c)}`);
  check((await page.textContent('#state')).includes(email), 'the page does not name the user');
  step(stepName, { status: r.status, sub: c.sub });

  stepName = 'admin API';
  r = await press('#admin');
  const admin = JSON.parse(r.body);
  check(r.status === 200 && admin.email === email && admin.roles.includes('admin'), `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'account page';
  let res = await page.goto(`${base}/account`);
  check(res.status() === 200 && (await page.textContent('#email')) === email, `GET /account: ${res.status()}`);
  step(stepName, { status: res.status() });

  stepName = 'account page after the access token expired';
  const before = await accessCookie();
  check(before, 'no access cookie');
  const exp = claimsOf(before).exp * 1000;
  const wait = exp + 1000 - Date.now();
  await page.waitForTimeout(Math.max(wait, 0));
  const hops = [];
  const onRequest = (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      hops.push(new URL(req.url()).pathname + new URL(req.url()).search);
    }
  };
  page.on('request', onRequest);
  res = await page.goto(`${base}/account`);
  page.off('request', onRequest);
  check(res.status() === 200 && (await page.textContent('#email')) === email, `GET /account after the expiry: ${res.status()}`);
  check(hops.length >= 2 && hops.length <= 3 && hops[0] === '/account' && hops[hops.length - 1] === '/account' &&
    hops.every((h) => !h.startsWith('/devidp') && !h.startsWith('/auth/login')), `navigations ${JSON.stringify(hops)}`);
  const after = await accessCookie();
  check(after && after !== before && claimsOf(after).exp * 1000 > Date.now(), 'the access cookie was not renewed');
  await page.screenshot({ path: shotAs('-account'), fullPage: true });
  step(stepName, { waited_ms: Math.max(wait, 0), navigations: hops });
}

try {
  stepName = 'open the page';
  const res = await page.goto(`${base}/`);
  check(res.status() === 200, `GET / answered ${res.status()}`);
  check(!(await signedIn()), 'signed in before signing in');
  step(stepName, { title: await page.title() });

  stepName = 'public API';
  let r = await press('#public');
  check(r.status === 200 && r.body.includes('public API'), `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'protected API without a token';
  r = await press('#protected-none');
  check(r.status === 401, `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'sign in';
  const first = await signIn();
  step(stepName);

  stepName = 'protected API with the token';
  r = await press('#protected');
  check(r.status === 200 && JSON.parse(r.body).email === email, `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'log out';
  r = await press('#logout');
  check(r.status === 200 && !(await signedIn()) && (await accessToken()) === null, `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'the old token, put back by hand, is refused';
  await page.evaluate((t) => localStorage.setItem('access_token', t), first);
  r = await press('#protected');
  check(r.status === 401 && r.body.includes('invalid_token'), `${r.status} ${r.body}`);
  const refusedState = await page.textContent('#state');
  check(!(await signedIn()) && refusedState.includes('refused'), `state after the refusal: ${refusedState}`);
  step(stepName, { status: r.status });

  stepName = 'sign in again';
  const second = await signIn();
  check(second !== first, 'the second sign-in gave the same token');
  step(stepName);

  stepName = 'refresh';
  r = await press('#refresh');
  const third = await accessToken();
  check(r.status === 200 && third && third !== second, `${r.status} ${r.body}`);
  check(!r.body.includes('refresh_token'), `the refresh token reached the page: ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'protected API with the new token';
  r = await press('#protected');
  check(r.status === 200 && JSON.parse(r.body).email === email && (await accessToken()) === third, `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'who am I';
  r = await press('#me');
  check(r.status === 200 && JSON.parse(r.body).email === email, `${r.status} ${r.body}`);
  step(stepName, { status: r.status });

  stepName = 'list my sessions';
  r = await press('#sessions');
  const rows = await page.locator('#sessions-body tr').count();
  const current = await page.locator('#sessions-body tr.current').count();
  check(r.status === 200 && rows >= 1 && current === 1, `${r.status}, ${rows} rows, ${current} current: ${r.body}`);
  await page.screenshot({ path: shot, fullPage: true });
  step(stepName, { status: r.status, sessions: rows, screenshot: shot });

  stepName = 'log out everywhere';
  r = await press('#logout-all');
  check(r.status === 200 && JSON.parse(r.body).result === true && !(await signedIn()), `${r.status} ${r.body}`);
  await page.evaluate((t) => localStorage.setItem('access_token', t), third);
  r = await press('#protected');
  check(r.status === 401, `the token of a session ended everywhere: ${r.status} ${r.body}`);
  r = await press('#refresh');
  check(r.status === 400, `refresh after logging out everywhere: ${r.status} ${r.body}`);
  await page.screenshot({ path: shotAs('-end'), fullPage: true });
  step(stepName, { status: 200 });

  if (password) {
    await passwordWalk();
  }

  stepName = 'the page itself';
  check(problems.length === 0, problems.join('; '));
  step(stepName, { problems: 0 });
} catch (err) {
  console.error(`demo-walk: step "${stepName}" failed: ${err.message}`);
  if (problems.length) {
    console.error(`demo-walk: the page also reported: ${problems.join('; ')}`);
  }
  await page.screenshot({ path: shotAs('-failed'), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
clearTimeout(timer);
