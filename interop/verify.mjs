// verify.mjs verifies a gatehouse access token with the jose library, fetching the keys
// from gatehouse's JWKS endpoint, and prints the verified payload as JSON.
//
//   node verify.mjs JWKS_URL TOKEN ISSUER AUDIENCE
//
// Exit status 0: verified, payload on stdout. Exit status 1: refused, the jose error code
// and message on stderr. Exit status 2: bad usage.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksURL, token, issuer, audience] = process.argv.slice(2);
if (!jwksURL || !token || !issuer || !audience) {
  console.error('usage: node verify.mjs JWKS_URL TOKEN ISSUER AUDIENCE');
  process.exit(2);
}

const jwks = createRemoteJWKSet(new URL(jwksURL));
try {
  const { payload } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256', 'EdDSA', 'Ed25519', 'RS256'],
  });
  console.log(JSON.stringify(payload));
} catch (err) {
  console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
  process.exit(1);
}
