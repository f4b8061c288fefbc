// Teamwork on the incident page (_notes.html): the assignment form, and internal notes. A new
// note is posted without leaving the page, and the list is redrawn from the page itself
// (rendered and escaped by the server, moved in as nodes) whenever the incident changes, so a
// colleague's note appears live.
"use strict";

(() => {
  const box = document.getElementById("notes");
  const root = document.querySelector(".incident");
  if (!box || !root) return;
  const id = root.dataset.id;
  const form = document.getElementById("note-form");

  async function redraw() {
    const html = await otklik.fetchText(location.pathname);
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("notes-list");
    if (fresh) document.getElementById("notes-list").replaceChildren(...fresh.childNodes);
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const error = form.querySelector(".form-error");
      const button = form.querySelector("button[type=submit]");
      error.hidden = true;
      button.disabled = true;
      try {
        const text = form.elements.text.value.trim();
        await otklik.api("POST", `/api/incidents/${encodeURIComponent(id)}/notes`, { text });
        form.reset();
        otklik.toast("Заметка добавлена.");
        await redraw();
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  const assign = document.getElementById("assign-form");
  if (assign) {
    assign.addEventListener("submit", (event) => {
      event.preventDefault();
      const login = assign.elements.login.value.trim();
      otklik.send(assign, `/api/incidents/${encodeURIComponent(id)}/assign`, { login },
        `Инцидент назначен: ${login}.`);
    });
  }

  otklik.live((changed) => {
    if (changed.length === 0 || changed.some((change) => change.id === id)) {
      redraw().catch((failure) => otklik.toast(failure.message, "error"));
    }
  });
})();
