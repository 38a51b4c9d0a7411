// Development stand-in for the Keycloak realm `remit`: Keycloak's URLs and token shape, four demo users.
import { createServer } from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const HOST = '127.0.0.1';
const PORT = Number(process.env.DEV_IDP_PORT ?? 8080); // the browser test runs its own on a free port
const REALM_PATH = '/realms/remit';
const CLIENT_ID = 'remit-api';
const TOKEN_LIFETIME_SECONDS = 3600;
// The browser frontend (frontend/): a public client, so it must sign in with PKCE (S256), and may
// only be sent back to these addresses.
const WEB_CLIENT_ID = 'remit-web';
const WEB_REDIRECT_URIS = new Set(
  (process.env.DEV_IDP_WEB_REDIRECT_URIS ?? 'http://127.0.0.1:5173/,http://localhost:5173/').split(','),
);

// Each password is the username: this server only ever runs on a developer's machine.
// Two ops users, so that one can approve what the other requested (four eyes).
const DEMO_USERS = new Map([
  ['alice', { sub: '60b14d07-6878-425c-b776-2ade0b5fc062', roles: [], given: 'Alice', family: 'Demo' }],
  ['bob', { sub: '5a4a4e5b-0447-432d-8b32-ec94263a51a8', roles: [], given: 'Bob', family: 'Demo' }],
  ['olga', { sub: 'a933c6ae-71c1-4420-a57b-d8c583789149', roles: ['ops'], given: 'Olga', family: 'Demo' }],
  ['oscar', { sub: '0c0a3d52-2f0e-4d8e-9a61-7f1c2b4e8d33', roles: ['ops'], given: 'Oscar', family: 'Demo' }],
]);
// Authorization codes given to the frontend (client remit-web): code -> the user who signed in.
const webCodes = new Map();
const SUPPORTED_GRANTS = new Set(['password', 'authorization_code']);

const issuer = new OAuth2Issuer();
issuer.url = `http://${HOST}:${PORT}${REALM_PATH}`;
await issuer.keys.generate('RS256');

// Paths are relative to the realm, which the HTTP server below strips from each request.
const service = new OAuth2Service(issuer, {
  wellKnownDocument: '/.well-known/openid-configuration',
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  authorize: '/protocol/openid-connect/auth',
  userinfo: '/protocol/openid-connect/userinfo',
  endSession: '/protocol/openid-connect/logout',
  revoke: '/protocol/openid-connect/revoke',
  introspect: '/protocol/openid-connect/token/introspect',
});

// The browser sign-in (the Django admin's): who signed in on the login form, by authorization code.
const codeUsers = new Map();

function usernameOf(tokenRequest) {
  const { grant_type: grant, code, username } = tokenRequest.body;
  if (grant !== 'authorization_code') {
    return username;
  }
  return webCodes.get(code)?.username ?? codeUsers.get(code);
}

function passwordMatches(body) {
  return DEMO_USERS.has(body.username) && body.password === body.username;
}

// The token endpoint signs the access token first, then the ID token, for the same request.
const tokensSigned = new WeakMap();

service.on('beforeTokenSigning', (token, req) => {
  const username = usernameOf(req);
  const user = DEMO_USERS.get(username);
  if (user === undefined) {
    return;
  }
  const count = (tokensSigned.get(req) ?? 0) + 1;
  tokensSigned.set(req, count);
  Object.assign(token.payload, {
    typ: count === 1 ? 'Bearer' : 'ID', // as Keycloak marks them
    exp: token.payload.iat + TOKEN_LIFETIME_SECONDS,
    sub: user.sub,
    aud: CLIENT_ID,
    azp: webCodes.has(req.body.code) ? WEB_CLIENT_ID : CLIENT_ID,
    preferred_username: username,
    name: `${user.given} ${user.family}`,
    given_name: user.given,
    family_name: user.family,
    email: `${username}@remit.example`,
    realm_access: { roles: user.roles },
  });
});

service.on('beforeAuthorizeRedirect', (redirect, req) => {
  const code = redirect.url.searchParams.get('code');
  if (code) {
    codeUsers.set(code, new URL(req.url, 'http://x').searchParams.get('username'));
  }
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Keycloak's login page, reduced: a form that comes back to the authorize URL with the credentials.
function loginForm(res, query, failed) {
  const hidden = [...query.entries()]
    .filter(([name]) => name !== 'username' && name !== 'password')
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join('');
  res.writeHead(failed ? 401 : 200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to remit</title></head>
<body style="font-family: sans-serif; max-width: 22em; margin: 4em auto">
<h1>Sign in to remit</h1><p>Dev identity provider: ${escape([...DEMO_USERS.keys()].join(', '))}; each
password is the username.</p>${failed ? '<p role="alert">Invalid username or password.</p>' : ''}
<form method="get">${hidden}
<p><label>Username <input name="username" id="username" autocomplete="username" autofocus></label></p>
<p><label>Password <input name="password" id="password" type="password"></label></p>
<p><button type="submit" id="kc-login">Sign in</button></p></form></body></html>`);
}

service.on('beforeResponse', (response, req) => {
  const webCode = webCodes.get(req.body.code);
  webCodes.delete(req.body.code);
  if (!SUPPORTED_GRANTS.has(req.body.grant_type)) {
    response.statusCode = 400;
    response.body = { error: 'unsupported_grant_type' };
  } else if (req.body.grant_type === 'password' && !passwordMatches(req.body)) {
    // Keycloak answers a bad username or password with 401 invalid_grant.
    response.statusCode = 401;
    response.body = { error: 'invalid_grant', error_description: 'Invalid user credentials' };
  } else if (
    webCode !== undefined &&
    (req.body.client_id !== WEB_CLIENT_ID || req.body.redirect_uri !== webCode.redirectUri || !req.body.code_verifier)
  ) {
    // The mock checks a code_verifier only when one is sent; a public client must send it.
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'PKCE code_verifier or redirect_uri missing or wrong' };
  }
});

service.on('beforeAuthorizeRedirect', (redirect, req) => {
  if (req.signedIn !== undefined) {
    const redirectUri = `${redirect.url.origin}${redirect.url.pathname}`;
    webCodes.set(redirect.url.searchParams.get('code'), { username: req.signedIn, redirectUri });
  }
});

service.on('beforeUserinfo', (response, req) => {
  const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const claims = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString() || '{}');
  const user = DEMO_USERS.get(claims.preferred_username);
  if (user === undefined) {
    response.statusCode = 401;
    response.body = { error: 'invalid_token' };
    return;
  }
  response.body = { sub: user.sub, preferred_username: claims.preferred_username };
});

// The frontend's sign-in page: a form that posts the user's name and password back to /auth with the
// authorization request, which then goes on as the mock's own /auth (a code for that user).
const AUTH_PATH = '/protocol/openid-connect/auth';

function webAuthorizationError(query) {
  if (!WEB_REDIRECT_URIS.has(query.get('redirect_uri'))) return 'unknown redirect_uri';
  if (query.get('response_type') !== 'code') return 'response_type must be code';
  if (!query.get('code_challenge') || query.get('code_challenge_method') !== 'S256') {
    return 'a public client must use PKCE with code_challenge_method=S256';
  }
  return null;
}

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(res, message) {
  // The form posts to this very URL, authorization request and all.
  res.writeHead(message ? 401 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Sign in to Remit (dev)</title>
<h1>Sign in to Remit</h1><p>Dev identity provider: alice, bob or olga; the password is the name.</p>
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post">
<label>Username <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`);
}

function webSignIn(req, res, url) {
  const query = url.searchParams;
  const error = webAuthorizationError(query);
  if (error) {
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request', error_description: error }));
    return;
  }
  if (req.method === 'GET') {
    signInPage(res);
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const form = new URLSearchParams(body);
    const username = form.get('username') ?? '';
    if (!passwordMatches({ username, password: form.get('password') })) {
      signInPage(res, 'Wrong username or password.');
      return;
    }
    req.method = 'GET';
    req.url = `${AUTH_PATH}?${query}`;
    req.signedIn = username;
    service.requestHandler(req, res);
  });
}

const server = createServer((req, res) => {
  if (!req.url.startsWith(`${REALM_PATH}/`)) {
    res.writeHead(404).end();
    return;
  }
  req.url = req.url.slice(REALM_PATH.length);
  const url = new URL(req.url, issuer.url);
  if (url.pathname === AUTH_PATH && url.searchParams.get('client_id') === WEB_CLIENT_ID) {
    webSignIn(req, res, url);
    return;
  }
  if (url.pathname === AUTH_PATH) {
    const { username, password } = Object.fromEntries(url.searchParams);
    if (username === undefined || !passwordMatches({ username, password })) {
      loginForm(res, url.searchParams, username !== undefined);
      return;
    }
  }
  service.requestHandler(req, res);
});

server.listen(PORT, HOST, () => {
  console.log(`dev identity provider: issuer ${issuer.url}`);
  console.log(`users (password = username): ${[...DEMO_USERS.keys()].join(', ')}; olga and oscar have role ops`);
});
