'use strict';
// The demo page: every call goes through call(), which shows its answer on the page.
// The access token is kept in localStorage under "access_token", as in the tutorial;
// the refresh token stays in its HttpOnly cookie, which the browser sends to the auth
// routes only.
(() => {
  const TOKEN_KEY = 'access_token';
  const HISTORY_KEY = 'gatehouse_demo_history';
  const prefix = document.body.dataset.prefix;
  const $ = (sel) => document.querySelector(sel);
  let seq = 0;
  // refused is a stored access token the server refused (revoked or expired): the
  // page then says so instead of "signed in".
  let refused = null;

  const token = () => localStorage.getItem(TOKEN_KEY);

  function setToken(t) {
    if (t) {
      localStorage.setItem(TOKEN_KEY, t);
    } else {
      localStorage.removeItem(TOKEN_KEY);
    }
    render();
  }

  // claims decodes (does not verify) the payload of a JWT, for display.
  function claims(t) {
    try {
      const b64 = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  }

  function render() {
    const t = token();
    const c = t && claims(t);
    const state = $('#state');
    const live = c && t !== refused;
    state.dataset.signedIn = live ? 'true' : 'false';
    if (live) {
      state.textContent = `Signed in as ${c.email || c.sub}`;
    } else if (c) {
      state.textContent = `Signed out: the stored access token of ${c.email || c.sub} was refused (revoked or expired)`;
    } else {
      state.textContent = 'Signed out';
    }
    $('#token-info').hidden = !c;
    if (c) {
      $('#token').textContent = t;
      $('#claims').textContent = JSON.stringify({ email: c.email, sub: c.sub, sid: c.sid, jti: c.jti, roles: c.roles });
      $('#expires').textContent = new Date(c.exp * 1000).toLocaleString();
    }
  }

  // show puts an answer on the page: as the last result, and at the top of the history.
  // note is a header of the answer worth seeing: its WWW-Authenticate challenge, or its
  // Retry-After.
  function show(label, method, path, status, body, note) {
    seq += 1;
    const ok = status >= 200 && status < 400;
    const result = $('#result');
    result.dataset.seq = String(seq);
    result.dataset.status = String(status);
    result.dataset.label = label;
    result.className = `card ${ok ? 'ok' : 'failed'}`;
    const title = $('#result-title');
    title.className = '';
    title.textContent = `${label}: ${method} ${path} → ${status || (body && body.error) || 'network error'}`;
    const ch = $('#result-challenge');
    ch.hidden = !note;
    ch.textContent = note || '';
    $('#result-body').textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2);

    const entry = { time: new Date().toLocaleTimeString(), label, method, path, status, detail: summary(body) };
    const all = loadHistory();
    all.push(entry);
    // Kept for the tab's life, so that the history survives the sign-in round trip.
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(all.slice(-50)));
    addHistory(entry);
  }

  function loadHistory() {
    try {
      return JSON.parse(sessionStorage.getItem(HISTORY_KEY)) || [];
    } catch {
      return [];
    }
  }

  function addHistory(e) {
    const ok = e.status >= 200 && e.status < 400;
    const li = document.createElement('li');
    const badge = document.createElement('span');
    badge.className = `status ${ok ? 'ok' : 'failed'}`;
    badge.textContent = e.status || 'ERR';
    const text = document.createElement('span');
    text.textContent = ` ${e.time} ${e.label} (${e.method} ${e.path})`;
    const detail = document.createElement('code');
    detail.textContent = e.detail;
    li.append(badge, text, document.createElement('br'), detail);
    $('#history').prepend(li);
  }

  function summary(body) {
    const s = typeof body === 'string' ? body : JSON.stringify(body);
    return s.length > 160 ? `${s.slice(0, 160)}…` : s;
  }

  // call makes one request and shows its answer. With bearer, the access token goes in
  // the Authorization header, and no cookie goes along: a request carries one
  // credential (RFC 6750 §2), and the server refuses a token in both the header and
  // the access cookie. Otherwise credentials 'same-origin' sends the cookies: the
  // refresh cookie to the auth routes (the only path it is scoped to), the access
  // cookie everywhere; 'omit' sends none.
  async function call(label, method, path, { bearer = false, credentials = 'same-origin' } = {}) {
    render();
    const headers = { Accept: 'application/json' };
    const t = token();
    if (bearer && t) {
      headers.Authorization = `Bearer ${t}`;
      credentials = 'omit';
    }
    return answer(label, method, path, bearer && t, () => fetch(path, { method, headers, credentials }));
  }

  // note is the header of res worth showing with its answer.
  function note(res) {
    const challenge = res.headers.get('WWW-Authenticate');
    if (challenge) {
      return `WWW-Authenticate: ${challenge}`;
    }
    const retry = res.headers.get('Retry-After');
    return retry ? `Retry-After: ${retry}` : '';
  }

  // answer runs send, a fetch, and shows its answer; t is the access token it sent.
  async function answer(label, method, path, t, send) {
    let res;
    let text;
    try {
      res = await send();
      text = await res.text();
    } catch (err) {
      show(label, method, path, 0, String(err));
      return { status: 0, json: null };
    }
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: shown as text
    }
    if (t && res.status === 401) {
      refused = t;
    }
    show(label, method, path, res.status, json ?? text, note(res));
    render();
    return { status: res.status, json };
  }

  async function refresh(label) {
    const r = await call(label, 'POST', `${prefix}/refresh`);
    if (r.status === 200 && r.json && r.json.access_token) {
      setToken(r.json.access_token);
    }
  }

  // logout ends the session with the refresh cookie (a request may carry one
  // credential only, and the cookie comes along with every request to the auth
  // routes); without a cookie, with the access token alone. Logging out everywhere
  // does the same with the access cookie, so that its answer clears the cookies.
  async function logout() {
    let r = await call('Log out', 'POST', `${prefix}/logout`);
    if (r.status === 401 && token()) {
      r = await call('Log out (with the access token)', 'POST', `${prefix}/logout`, { bearer: true, credentials: 'omit' });
    }
    if (r.status === 200) {
      setToken(null);
      $('#sessions-card').hidden = true;
    }
  }

  async function logoutAll() {
    let r = await call('Log out everywhere', 'POST', `${prefix}/logout/all`);
    if (r.status === 401 && token()) {
      r = await call('Log out everywhere (with the access token)', 'POST', `${prefix}/logout/all`, { bearer: true });
    }
    if (r.status === 200) {
      setToken(null);
      $('#sessions-card').hidden = true;
    }
  }

  async function sessions() {
    const r = await call('List my sessions', 'GET', `${prefix}/sessions`, { bearer: true });
    const body = $('#sessions-body');
    body.replaceChildren();
    $('#sessions-card').hidden = r.status !== 200;
    if (r.status !== 200) {
      return;
    }
    for (const s of r.json.sessions) {
      const tr = document.createElement('tr');
      if (s.current) {
        tr.className = 'current';
      }
      const cells = [
        `${s.id.slice(0, 10)}…${s.current ? ' (this one)' : ''}`,
        new Date(s.created_at).toLocaleString(),
        new Date(s.last_used_at).toLocaleString(),
        new Date(s.expires_at).toLocaleString(),
        `${s.ip || ''} ${browserName(s.user_agent || '')}`,
      ];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      const td = document.createElement('td');
      const end = document.createElement('button');
      end.type = 'button';
      end.className = 'small danger';
      end.textContent = 'End';
      end.addEventListener('click', async () => {
        const r2 = await call('End a session', 'DELETE', `${prefix}/sessions/${encodeURIComponent(s.id)}`, { bearer: true });
        if (r2.status === 200 && s.current) {
          setToken(null);
        }
        tr.remove();
      });
      td.append(end);
      tr.append(td);
      body.append(tr);
    }
  }

  // signInWithPassword posts the password form as the browser would, form-encoded,
  // with fetch so that a refusal is shown on the page. On success the route answers
  // with the cookies and a redirect to the form's redirect_to (this page, with
  // signed_in), which the page then follows; the refresh token never reaches it.
  async function signInWithPassword(event) {
    event.preventDefault();
    const label = 'Sign in with a password';
    const f = event.target;
    const path = new URL(f.action).pathname;
    const target = f.elements.redirect_to.value;
    const body = new URLSearchParams(new FormData(f));
    $('#password').value = '';
    let res;
    try {
      res = await fetch(path, { method: 'POST', body, credentials: 'same-origin', redirect: 'manual' });
    } catch (err) {
      show(label, 'POST', path, 0, String(err));
      return;
    }
    if (res.type === 'opaqueredirect') {
      // The cookies are set; what the redirect names is the form's redirect_to.
      show(label, 'POST', path, 302, `signed in: back to ${target}`);
      location.assign(target);
      return;
    }
    await answer(label, 'POST', path, null, () => Promise.resolve(res));
  }

  function browserName(ua) {
    const m = ua.match(/(HeadlessChrome|Chrome|Chromium|Firefox|Safari|curl|Go-http-client)\/[\d.]+/);
    return m ? m[0] : ua.slice(0, 40);
  }

  $('#public').addEventListener('click', () => call('Public API', 'GET', '/api'));
  // No token at all: not the header, and not the access cookie either.
  $('#protected-none').addEventListener('click', () => call('Protected API without the token', 'GET', '/api/protected', { credentials: 'omit' }));
  $('#protected').addEventListener('click', () => call('Protected API with the token', 'GET', '/api/protected', { bearer: true }));
  $('#me').addEventListener('click', () => call('Who am I', 'GET', `${prefix}/me`, { bearer: true }));
  $('#admin').addEventListener('click', () => call('Admin API with the token', 'GET', '/api/admin', { bearer: true }));
  $('#refresh').addEventListener('click', () => refresh('Refresh'));
  $('#sessions').addEventListener('click', sessions);
  $('#logout').addEventListener('click', logout);
  $('#logout-all').addEventListener('click', logoutAll);
  const passwordForm = $('#password-form');
  if (passwordForm) {
    passwordForm.addEventListener('submit', signInWithPassword);
  }

  loadHistory().forEach(addHistory);
  render();
  // Back from the identity provider: the refresh cookie is set; trade it for the
  // first access token.
  const back = new URLSearchParams(location.search);
  if (back.has('error')) {
    // The sign-in was refused after the provider (a disallowed email, a cancel): core
    // sends the browser back here with error and error_description.
    history.replaceState(null, '', '/');
    show('Sign-in refused', 'GET', `${prefix}/callback`, 0, { error: back.get('error'), error_description: back.get('error_description') });
  } else if (back.has('signed_in')) {
    history.replaceState(null, '', '/');
    // Whatever token was stored before belongs to an earlier sign-in.
    setToken(null);
    refresh('Sign-in: first access token');
  }
})();
