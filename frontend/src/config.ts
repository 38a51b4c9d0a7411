// Where the API and the identity provider are. Vite reads VITE_* variables from the environment
// when it starts (scripts/run and the browser test set them); these defaults are scripts/run's.
export const API_URL = import.meta.env.VITE_API_URL ?? 'http://127.0.0.1:8000';
export const OIDC_ISSUER = import.meta.env.VITE_OIDC_ISSUER ?? 'http://127.0.0.1:8080/realms/remit';
// A public client: no secret in the browser, so the sign-in is authorization code with PKCE.
export const OIDC_CLIENT_ID = import.meta.env.VITE_OIDC_CLIENT_ID ?? 'remit-web';
