// The incident page: every action form posts JSON to /api/incidents/{id}/{action} with the
// CSRF token; the server checks the role and the state and answers in Russian.
"use strict";

(() => {
  const root = document.querySelector(".incident");
  if (!root) return;
  const id = root.dataset.id;

  function body(form) {
    const action = form.dataset.action;
    const field = (name) => form.elements[name];
    if (action === "answer") return { text: field("text").value.trim(), final: field("final").checked };
    if (["reject", "reopen", "restore"].includes(action)) return { reason: field("reason").value.trim() };
    if (action === "category") return { category: field("category").value };
    if (action === "reassign") {
      return {
        municipality: field("municipality").value,
        department: field("department").value || null,
        reason: field("reason").value.trim(),
      };
    }
    return undefined; // claim, close
  }

  const DONE = {
    claim: "Инцидент взят в работу.", answer: "Ответ записан.", reject: "Отмечено: не инцидент.",
    category: "Категория изменена.", reassign: "Инцидент переназначен.", close: "Инцидент закрыт.",
    reopen: "Инцидент переоткрыт.", restore: "Инцидент возвращён в работу.",
  };

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    if (!form.reportValidity()) return;
    const url = `/api/incidents/${encodeURIComponent(id)}/${form.dataset.action}`;
    await otklik.send(form, url, body(form), DONE[form.dataset.action]);
  }

  for (const form of document.querySelectorAll("form.action")) {
    form.addEventListener("submit", submit);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  // A template comes filled from the incident (server-side); an input is shown for each
  // {placeholder} still in it, and the text is rebuilt from the template and the inputs on each
  // change. The server refuses a text that still holds one (sla/domain/reply_placeholders.py).
  const template = document.getElementById("reply-template");
  const fields = document.getElementById("template-fields");
  const area = document.getElementById("answer-text");

  function russianDate(value) {
    const [year, month, day] = value.split("-");
    return `${day}.${month}.${year}`;
  }

  function fillText() {
    const chosen = template.selectedOptions[0];
    let text = chosen.dataset.text;
    for (const label of fields.querySelectorAll("[data-placeholder]")) {
      const input = label.querySelector("input");
      const value = input.value.trim();
      if (label.hidden || !value) continue;
      text = text.replaceAll(`{${label.dataset.placeholder}}`, input.dataset.kind === "date" ? russianDate(value) : value);
    }
    area.value = text;
    return text;
  }

  if (template) {
    template.addEventListener("change", () => {
      const chosen = template.selectedOptions[0];
      if (!chosen.value) return;
      const text = chosen.dataset.text;
      let asked = 0;
      for (const label of fields.querySelectorAll("[data-placeholder]")) {
        label.hidden = !text.includes(`{${label.dataset.placeholder}}`);
        label.querySelector("input").value = "";
        if (!label.hidden) asked += 1;
      }
      fields.hidden = asked === 0;
      fillText();
      document.getElementById("answer-final").checked = chosen.dataset.final === "true";
      const first = fields.querySelector("[data-placeholder]:not([hidden]) input");
      (first || area).focus();
    });
    fields.addEventListener("input", () => { if (template.value) fillText(); });
  }

  function openReject() {
    const box = document.getElementById("reject-box");
    if (!box) return;
    box.open = true;
    document.getElementById("reject-reason").focus();
  }

  const keys = otklik.keys;
  keys.set("c", () => document.getElementById("claim-form")?.requestSubmit());
  keys.set("a", () => document.getElementById("answer-text")?.focus());
  keys.set("r", openReject);
  keys.set("o", () => document.getElementById("original-link")?.click());

  const thread = document.querySelector(".thread-list");
  const own = thread && thread.querySelector("li.current");
  if (own) thread.scrollTop = own.offsetTop - 60; // the list scrolls, not the page

  if (location.hash === "#answer") document.getElementById("answer-text")?.focus();
  if (location.hash === "#reject") openReject();
  for (const link of document.querySelectorAll("[data-reload]")) {
    link.addEventListener("click", (event) => { event.preventDefault(); location.reload(); });
  }

  // Delivery of answers to VK (_delivery.html): redrawn from the API whenever the incident
  // changes, so «отправляется» turns into «опубликован» or the error without a reload.
  const history = document.querySelector(".history");
  const canRetry = history && history.dataset.canRetry === "yes";

  function drawDelivery(box, view) {
    box.className = `delivery d-${view.state}`;
    const label = document.createElement("span");
    label.className = "delivery-label";
    label.textContent = "Во ВКонтакте:";
    const state = document.createElement("span");
    state.className = "delivery-state";
    const parts = [label, " ", state];
    if (view.state === "posted") {
      state.textContent = "опубликован";
      if (view.url && view.url.startsWith("https://")) {
        const link = document.createElement("a");
        Object.assign(link, { href: view.url, target: "_blank", rel: "noopener noreferrer", textContent: "открыть ответ ↗" });
        parts.push(" — ", link);
      }
    } else if (view.state === "failed") {
      state.textContent = `ошибка: ${view.reason}`;
      if (view.retryable && canRetry) {
        const button = document.createElement("button");
        Object.assign(button, { type: "button", className: "retry", textContent: "Повторить отправку" });
        button.dataset.retry = view.answer_event_id;
        parts.push(" ", button);
      }
    } else {
      state.textContent = "отправляется…";
    }
    box.replaceChildren(...parts);
  }

  async function refreshDeliveries() {
    if (!history || !history.querySelector(".delivery")) return;
    try {
      const views = await otklik.api("GET", `/api/incidents/${encodeURIComponent(id)}/deliveries`);
      for (const view of views) {
        const box = history.querySelector(`.delivery[data-answer="${CSS.escape(view.answer_event_id)}"]`);
        if (box) drawDelivery(box, view);
      }
    } catch (failure) {
      otklik.toast(failure.message, "error");
    }
  }

  if (history) {
    history.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-retry]");
      if (!button) return;
      button.disabled = true;
      const url = `/api/incidents/${encodeURIComponent(id)}/answers/${encodeURIComponent(button.dataset.retry)}/retry`;
      try {
        await otklik.api("POST", url);
        otklik.toast("Ответ отправляется повторно.");
      } catch (failure) {
        otklik.toast(failure.message, "error");
      }
      await refreshDeliveries();
    });
  }

  // «Инцидент изменился» is for what others did (the feed names who made each change): one's
  // own action reloads the page anyway, and a delivery report redraws its own box above.
  // A change the page already shows (one made before it was rendered, heard of late) is none.
  const me = root.dataset.me;
  const shown = Number(root.dataset.seq || 0);
  const REDRAWN = new Set(["answer_posted", "answer_failed"]);
  otklik.live((changed) => {
    const here = changed.filter((change) => change.id === id);
    if (changed.length === 0 || here.length) refreshDeliveries();
    // The latest change heard of, «event actor» (read by the browser tests).
    if (here.length) root.dataset.lastChange = `${here.at(-1).event} ${here.at(-1).actor}`;
    const news = (change) => change.seq > shown && change.actor !== me && !REDRAWN.has(change.event);
    if (here.some(news)) {
      document.getElementById("changed-banner").hidden = false;
    }
  });
})();
