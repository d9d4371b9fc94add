/** Settings → API Keys: the org admin's page. Static; talks to the admin API with the admin's token. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API Keys · Keyward</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/_keyward/console/app.css">
</head>
<body>
<header><span class="crumbs">Settings / <strong>API Keys</strong></span></header>
<main>
  <section id="signin" class="card">
    <h1>Sign in</h1>
    <p class="muted">Paste an org admin's user token. It stays in this tab (session storage) and is sent only to this Keyward.</p>
    <form id="signin-form">
      <label>Organisation <input id="org" name="org" required pattern="[A-Za-z0-9_\\-]{1,128}" autocomplete="off"></label>
      <label>Admin token <input id="token" name="token" type="password" required autocomplete="off"></label>
      <button type="submit">Continue</button>
    </form>
  </section>
  <section id="keys" class="card" hidden>
    <div class="row">
      <h1>API Keys <span id="org-name" class="muted"></span></h1>
      <button id="signout" class="link" type="button">Sign out</button>
    </div>
    <form id="create-form" class="row">
      <label class="grow">Label <input id="label" name="label" required maxlength="100" placeholder="e.g. billing worker"></label>
      <label>Environment
        <select id="environment" name="environment"><option value="live">live</option><option value="test">test</option></select>
      </label>
      <button type="submit">Create key</button>
    </form>
    <p id="error" class="error" role="alert" hidden></p>
    <table>
      <thead><tr><th>Label</th><th>Key</th><th>Env</th><th>Status</th><th>Created</th><th>Last used</th><th></th></tr></thead>
      <tbody id="key-rows"></tbody>
    </table>
    <p id="empty" class="muted" hidden>No keys yet.</p>
  </section>
</main>
<dialog id="created">
  <h2>Copy your new key</h2>
  <p><strong>This is the only time it is shown.</strong> Store it in your secret manager now.</p>
  <div class="row"><code id="new-key"></code><button id="copy" type="button">Copy</button></div>
  <p id="copied" class="muted" hidden>Copied.</p>
  <form method="dialog"><button id="done">I have stored it</button></form>
</dialog>
<script type="module" src="/_keyward/console/app.js"></script>
</body>
</html>`;

export const CONSOLE_CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d2230;background:#f5f6f8}
header{padding:14px 24px;background:#fff;border-bottom:1px solid #e2e5ea}main{max-width:980px;margin:24px auto;padding:0 16px}
.card{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:20px 24px}h1{font-size:20px;margin:0 0 12px}
label{display:flex;flex-direction:column;font-size:13px;color:#4a5163;gap:4px;margin-bottom:10px}
input,select{font:inherit;padding:7px 9px;border:1px solid #c9ced8;border-radius:6px}
button{font:inherit;padding:7px 14px;border-radius:6px;border:1px solid #2b59c3;background:#2b59c3;color:#fff;cursor:pointer}
button.link{background:none;border:none;color:#2b59c3;padding:0}button.danger{background:#fff;color:#b42318;border-color:#e4b4ae}
.row{display:flex;gap:12px;align-items:flex-end;justify-content:space-between}.grow{flex:1}
table{width:100%;border-collapse:collapse;margin-top:12px}th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #eef0f3;font-size:14px}
th{font-size:12px;text-transform:uppercase;color:#6b7385}.muted{color:#6b7385}.error{color:#b42318}
.status{padding:2px 8px;border-radius:10px;font-size:12px}.status-active{background:#e7f6ec;color:#1a7f37}
.status-revoked{background:#fdecea;color:#b42318}.status-expired{background:#f1f2f4;color:#4a5163}
dialog{border:none;border-radius:10px;padding:24px;max-width:560px;box-shadow:0 10px 40px rgba(0,0,0,.2)}
code{font:13px ui-monospace,monospace;background:#f1f2f4;padding:8px 10px;border-radius:6px;word-break:break-all;flex:1}
`;
