// Development stand-in for the Keycloak realm `remit`: Keycloak's URLs and token shape, three demo users.
import { createServer } from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const HOST = '127.0.0.1';
const PORT = 8080;
const REALM_PATH = '/realms/remit';
const CLIENT_ID = 'remit-api';
const TOKEN_LIFETIME_SECONDS = 3600;

// Each password is the username: this server only ever runs on a developer's machine.
const DEMO_USERS = new Map([
  ['alice', { sub: '60b14d07-6878-425c-b776-2ade0b5fc062', roles: [] }],
  ['bob', { sub: '5a4a4e5b-0447-432d-8b32-ec94263a51a8', roles: [] }],
  ['olga', { sub: 'a933c6ae-71c1-4420-a57b-d8c583789149', roles: ['ops'] }],
]);
// The browser sign-in (the Django admin's) has no login form here: it always signs in as olga.
const BROWSER_SIGN_IN_USER = 'olga';
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

function usernameOf(tokenRequest) {
  const grant = tokenRequest.body.grant_type;
  return grant === 'authorization_code' ? BROWSER_SIGN_IN_USER : tokenRequest.body.username;
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
    azp: CLIENT_ID,
    preferred_username: username,
    realm_access: { roles: user.roles },
  });
});

service.on('beforeResponse', (response, req) => {
  if (!SUPPORTED_GRANTS.has(req.body.grant_type)) {
    response.statusCode = 400;
    response.body = { error: 'unsupported_grant_type' };
  } else if (req.body.grant_type === 'password' && !passwordMatches(req.body)) {
    // Keycloak answers a bad username or password with 401 invalid_grant.
    response.statusCode = 401;
    response.body = { error: 'invalid_grant', error_description: 'Invalid user credentials' };
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

const server = createServer((req, res) => {
  if (!req.url.startsWith(`${REALM_PATH}/`)) {
    res.writeHead(404).end();
    return;
  }
  req.url = req.url.slice(REALM_PATH.length);
  service.requestHandler(req, res);
});

server.listen(PORT, HOST, () => {
  console.log(`dev identity provider: issuer ${issuer.url}`);
  console.log(`users (password = username): ${[...DEMO_USERS.keys()].join(', ')}; olga has role ops`);
});
