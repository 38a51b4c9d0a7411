// Sign-in with OpenID Connect: authorization code flow with PKCE (RFC 7636), as a single-page app
// must do it. The access token is kept in sessionStorage (this tab only, gone when it closes).
import { OIDC_CLIENT_ID, OIDC_ISSUER } from './config';

const TOKEN = 'remit.access_token';
const PENDING = 'remit.sign_in'; // the state and code verifier of a sign-in under way

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

const redirectUri = () => `${window.location.origin}/`;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function discovery(): Promise<Discovery> {
  const response = await fetch(`${OIDC_ISSUER}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`identity provider: ${response.status}`);
  return response.json();
}

export function accessToken(): string | null {
  return sessionStorage.getItem(TOKEN);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN);
}

/** Sends the browser to the identity provider; it comes back to this page with ?code=&state=. */
export async function signIn(): Promise<void> {
  const { authorization_endpoint } = await discovery();
  const state = randomString();
  const verifier = randomString();
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: OIDC_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri(),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url);
}

/** On the way back from the provider: trade the code (and the verifier) for a token. */
export async function completeSignIn(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  if (code === null) return;
  window.history.replaceState(null, '', redirectUri()); // the code is single-use: off the address bar
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  if (pending === null || params.get('state') !== pending.state) throw new Error('sign-in: state mismatch');
  const { token_endpoint } = await discovery();
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: OIDC_CLIENT_ID,
      code,
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`sign-in refused: ${response.status} ${await response.text()}`);
  sessionStorage.setItem(TOKEN, (await response.json()).access_token);
}
