// The queue: keyboard cursor, claim from the list, bulk actions, live refresh of the results.
// The refreshed results are HTML rendered (and escaped) by the server's own template; they are
// parsed with DOMParser and moved in as nodes, so no string is ever assigned to innerHTML.
"use strict";

(() => {
  const results = document.getElementById("queue-results");
  const bulk = document.getElementById("bulk");
  const picked = new Set();
  let cursorId = null;
  let refreshing = null;

  const rows = () => Array.from(results.querySelectorAll("tr.row"));
  const current = () => rows().find((row) => row.dataset.id === cursorId) || null;

  function moveTo(row) {
    for (const other of results.querySelectorAll("tr.cursor")) other.classList.remove("cursor");
    if (!row) { cursorId = null; return; }
    cursorId = row.dataset.id;
    row.classList.add("cursor");
    row.scrollIntoView({ block: "nearest" });
  }

  function step(delta) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(current());
    const next = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + delta));
    moveTo(all[next]);
  }

  function open(hash = "") {
    const row = current();
    if (row) location.assign(row.dataset.href + hash);
  }

  async function claim() {
    const row = current();
    if (!row) { otklik.toast("Сначала выберите инцидент клавишами j / k."); return; }
    try {
      await otklik.api("POST", `/api/incidents/${encodeURIComponent(row.dataset.id)}/claim`);
      otklik.toast("Взято в работу.");
      await refresh();
    } catch (error) {
      otklik.toast(error.message, "error");
    }
  }

  function syncPicks() {
    for (const box of results.querySelectorAll("input.pick-one")) box.checked = picked.has(box.value);
    const count = document.getElementById("bulk-count");
    if (count) count.textContent = String(picked.size);
  }

  function togglePick() {
    const row = current();
    const box = row && row.querySelector("input.pick-one");
    if (!box) return;
    if (picked.has(box.value)) picked.delete(box.value); else picked.add(box.value);
    syncPicks();
  }

  async function refresh(changed = []) {
    if (refreshing) return refreshing;
    const before = new Set(rows().map((row) => row.dataset.id));
    results.setAttribute("aria-busy", "true");
    refreshing = otklik.fetchText("/queue/results" + location.search)
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html").body;
        results.replaceChildren(...fresh.childNodes);
        const box = results.querySelector(".results");
        document.getElementById("queue-total").textContent =
          Number(box.dataset.total).toLocaleString("ru-RU");
        const wanted = new Set(changed.map((c) => c.id));
        for (const row of rows()) {
          if (!before.has(row.dataset.id) || wanted.has(row.dataset.id)) row.classList.add("fresh");
        }
        const again = rows().find((row) => row.dataset.id === cursorId);
        moveTo(again || null);
        syncPicks();
        otklik.tick();
      })
      .catch((error) => otklik.toast(error.message, "error"))
      .finally(() => { results.setAttribute("aria-busy", "false"); refreshing = null; });
    return refreshing;
  }

  function bulkBody(form) {
    const action = form.elements.action.value;
    const body = { action, incident_ids: Array.from(picked) };
    if (action === "answer") body.text = form.elements.text.value.trim();
    if (action === "reject" || action === "reassign") body.reason = form.elements.reason.value.trim();
    if (action === "reassign") body.municipality = form.elements.municipality.value;
    return body;
  }

  function showBulkFields() {
    const action = bulk.elements.action.value;
    for (const field of bulk.querySelectorAll("[data-for]")) {
      field.hidden = !field.dataset.for.split(" ").includes(action);
      field.required = !field.hidden;
    }
  }

  // Two keystrokes once rejected a real complaint: every bulk action is confirmed, with its count.
  const VERBS = {
    claim: "Взять в работу", answer: "Ответить на", reject: "Отметить «не инцидент»",
    close: "Закрыть", reassign: "Переназначить",
  };

  function confirmBulk(body) {
    const dialog = document.getElementById("bulk-confirm");
    const n = body.incident_ids.length;
    const word = n % 10 === 1 && n % 100 !== 11 ? "инцидент"
      : [2, 3, 4].includes(n % 10) && ![12, 13, 14].includes(n % 100) ? "инцидента" : "инцидентов";
    dialog.querySelector("[data-question]").textContent = `${VERBS[body.action]} ${n} ${word}?`;
    dialog.querySelector("[data-detail]").textContent = body.reason || body.text || "";
    dialog.returnValue = "";  // a cancelled question must never read an earlier answer
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.showModal();
    });
  }

  async function runBulk(event) {
    event.preventDefault();
    if (!picked.size) { otklik.toast("Отметьте инциденты флажками или клавишей x."); return; }
    const body = bulkBody(bulk);
    if (!(await confirmBulk(body))) return;
    const button = bulk.querySelector("button[type=submit]");
    button.setAttribute("aria-busy", "true");
    try {
      const outcomes = await otklik.api("POST", "/api/incidents/bulk", body);
      const failed = outcomes.filter((o) => o.error);
      const done = outcomes.length - failed.length;
      otklik.toast(`Выполнено: ${done} из ${outcomes.length}.`);
      for (const o of failed.slice(0, 3)) otklik.toast(`${o.incident_id}: ${o.error}`, "error");
      picked.clear();
      await refresh();
    } catch (error) {
      otklik.toast(error.message, "error");
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  function pager(direction) {
    const link = results.querySelector(`[data-pager="${direction}"]`);
    if (link) location.assign(link.href);
  }

  results.addEventListener("click", (event) => {
    const box = event.target.closest("input.pick-one");
    if (box) { if (box.checked) picked.add(box.value); else picked.delete(box.value); syncPicks(); return; }
    if (event.target.id === "pick-all") {
      for (const one of results.querySelectorAll("input.pick-one")) {
        if (event.target.checked) picked.add(one.value); else picked.delete(one.value);
      }
      syncPicks();
      return;
    }
    const row = event.target.closest("tr.row");
    if (row && !event.target.closest("a, input")) location.assign(row.dataset.href);
  });

  const filters = document.getElementById("filters");
  filters.addEventListener("change", () => filters.requestSubmit());
  if (bulk) {
    bulk.addEventListener("submit", runBulk);
    bulk.elements.action.addEventListener("change", showBulkFields);
    showBulkFields();
  }

  const keys = otklik.keys;
  keys.set("j", () => step(1));
  keys.set("k", () => step(-1));
  keys.set("Enter", () => open());
  keys.set("o", () => open());
  keys.set("c", claim);
  keys.set("a", () => open("#answer"));
  keys.set("r", () => open("#reject"));
  keys.set("x", togglePick);
  keys.set("n", () => pager("next"));
  keys.set("p", () => pager("prev"));
  keys.set("/", () => filters.querySelector("select")?.focus());

  otklik.live((changed) => refresh(changed));
})();
