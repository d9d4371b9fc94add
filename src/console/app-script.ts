/** The page's script, served as /_keyward/console/app.js (no inline script: the CSP forbids it). */
export const CONSOLE_JS = `
const $ = (id) => document.getElementById(id);
const api = (path, init = {}) =>
  fetch("/_keyward/v1/orgs/" + encodeURIComponent(sessionStorage.getItem("kw.org")) + path, {
    ...init,
    headers: { authorization: "Bearer " + sessionStorage.getItem("kw.token"), "content-type": "application/json" },
  });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function failure(res) {
  try {
    const body = await res.json();
    return body.code + ": " + body.message;
  } catch {
    return "HTTP " + res.status;
  }
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function load() {
  const res = await api("/keys");
  if (!res.ok) return showError(await failure(res));
  const { keys } = await res.json();
  const rows = $("key-rows");
  rows.replaceChildren();
  $("empty").hidden = keys.length > 0;
  for (const key of keys) {
    const tr = document.createElement("tr");
    tr.dataset.keyId = key.id;
    const status = document.createElement("span");
    status.className = "status status-" + key.status;
    status.textContent = key.status;
    const statusCell = document.createElement("td");
    statusCell.append(status);
    tr.append(cell(key.label), cell(key.prefix + "…", "mono"), cell(key.environment), statusCell, cell(when(key.createdAt)), cell(when(key.lastUsedAt)));
    const actions = document.createElement("td");
    if (key.status === "active") {
      const revoke = document.createElement("button");
      revoke.className = "danger";
      revoke.type = "button";
      revoke.textContent = "Revoke";
      revoke.addEventListener("click", async () => {
        if (!confirm("Revoke " + key.label + "? Requests with this key will be refused immediately.")) return;
        const r = await api("/keys/" + key.id + "/revoke", { method: "POST", body: "{}" });
        if (!r.ok) return showError(await failure(r));
        showError("");
        await load();
      });
      actions.append(revoke);
    }
    tr.append(actions);
    rows.append(tr);
  }
}

function signedIn() {
  const ok = Boolean(sessionStorage.getItem("kw.token") && sessionStorage.getItem("kw.org"));
  $("signin").hidden = ok;
  $("keys").hidden = !ok;
  if (ok) {
    $("org-name").textContent = sessionStorage.getItem("kw.org");
    load();
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("kw.org", $("org").value.trim());
  sessionStorage.setItem("kw.token", $("token").value.trim());
  $("token").value = "";
  signedIn();
});

$("signout").addEventListener("click", () => {
  sessionStorage.clear();
  signedIn();
});

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const res = await api("/keys", { method: "POST", body: JSON.stringify({ label: $("label").value, environment: $("environment").value }) });
  if (!res.ok) return showError(await failure(res));
  showError("");
  const created = await res.json();
  $("new-key").textContent = created.key;
  $("copied").hidden = true;
  $("label").value = "";
  $("created").showModal();
  await load();
});

$("copy").addEventListener("click", async () => {
  await navigator.clipboard.writeText($("new-key").textContent);
  $("copied").hidden = false;
});

// The key leaves the page as soon as the dialog closes.
$("created").addEventListener("close", () => {
  $("new-key").textContent = "";
});

signedIn();
`;
