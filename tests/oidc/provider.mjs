// A real OpenID Connect provider for duban's tests (panva/oidc-provider, OpenID certified).
//
// node provider.mjs <port> ; configuration through the environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma-separated)
//   OIDC_USERS: JSON {"<sub>": {"name": ..., "duban_department": ..., "duban_role": ...,
//                               "amr": ["pwd", "otp"], "acr": "..."}}
// The interaction is one small form: type the subject, the provider signs that account in
// (with the amr/acr of its entry) and grants the requested scopes (no consent screen).
// Prints "listening <issuer>" once it serves.
import http from "node:http";
import Provider from "oidc-provider";

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;
const users = JSON.parse(process.env.OIDC_USERS || "{}");

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID || "duban",
      client_secret: process.env.OIDC_CLIENT_SECRET || "duban-secret",
      redirect_uris: (process.env.OIDC_REDIRECT_URIS || "").split(",").filter(Boolean),
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { required: () => true },
  claims: {
    iss: null,
    sid: null,
    // acr/amr/auth_time with the openid scope: every ID token says how the user signed in
    openid: ["sub", "acr", "amr", "auth_time"],
    profile: ["name"],
    email: ["email"],
    duban: ["duban_department", "duban_role"],
  },
  scopes: ["openid", "profile", "email", "duban"],
  conformIdTokenClaims: false, // the claims of the granted scopes go into the ID token too
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ["duban-test-oidc-cookie-key"] },
  async findAccount(ctx, sub) {
    const entry = users[sub];
    if (!entry) return undefined;
    return {
      accountId: sub,
      async claims() {
        const { amr, acr, ...claims } = entry;
        return { sub, ...claims };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

function page(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP</title></head>
<body><h1>Test identity provider</h1>${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}">
<label>Subject <input name="login" autofocus></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  const { prompt, params, session } = details;
  if (prompt.name === "consent") {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page(uid));
    return;
  }
  const login = (await readForm(req)).get("login") || "";
  const entry = users[login];
  if (!entry) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page(uid, "unknown subject"));
    return;
  }
  const result = { login: { accountId: login, amr: entry.amr || ["pwd"], acr: entry.acr } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)/.exec(req.url || "");
  if (match) {
    interaction(req, res, match[1]).catch((err) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
    return;
  }
  callback(req, res);
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${issuer}\n`);
});
