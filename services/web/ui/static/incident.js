// The incident page: every action form posts JSON to /api/incidents/{id}/{action} with the
// CSRF token; the server checks the role and the state and answers in Russian.
"use strict";

(() => {
  const root = document.querySelector(".incident");
  if (!root) return;
  const id = root.dataset.id;
  let ownActionAt = 0;

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
    ownActionAt = Date.now();
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

  const template = document.getElementById("reply-template");
  if (template) {
    template.addEventListener("change", () => {
      const chosen = template.selectedOptions[0];
      if (!chosen.value) return;
      const text = chosen.dataset.text.replaceAll("{department}", root.dataset.department || "{department}");
      const area = document.getElementById("answer-text");
      area.value = text;
      document.getElementById("answer-final").checked = chosen.dataset.final === "true";
      area.focus();
      const gap = text.indexOf("{");
      if (gap >= 0) area.setSelectionRange(gap, text.indexOf("}", gap) + 1);
    });
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

  otklik.live((changed) => {
    if (Date.now() - ownActionAt < 5000) return;
    if (changed.some((change) => change.id === id)) document.getElementById("changed-banner").hidden = false;
  });
})();
