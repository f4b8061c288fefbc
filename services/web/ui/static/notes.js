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
    // A colleague chosen by name puts their @login into the note where the cursor is: nobody
    // has to switch to a Latin layout to mention.
    const pick = document.getElementById("mention-pick");
    pick?.addEventListener("change", () => {
      if (!pick.value) return;
      const area = form.elements.text;
      const at = area.selectionStart ?? area.value.length;
      const before = area.value.slice(0, at);
      const mention = `${before && !/\s$/.test(before) ? " " : ""}@${pick.value} `;
      area.value = before + mention + area.value.slice(at);
      area.focus();
      area.selectionStart = area.selectionEnd = at + mention.length;
      pick.value = "";
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
      const chosen = assign.elements.login.selectedOptions[0];
      otklik.send(assign, `/api/incidents/${encodeURIComponent(id)}/assign`,
        { login: chosen.value }, `Инцидент назначен: ${chosen.textContent}.`);
    });
  }

  // Presence (services/web/presence.py): this page reports itself every 10 s and learns who
  // else has the incident open and who has it in work; it says goodbye when it is closed.
  const presence = document.getElementById("presence");
  const me = box.dataset.me;
  const presenceUrl = `/api/incidents/${encodeURIComponent(id)}/presence`;

  // Plain fetch, not otklik.api: a heartbeat shows no progress bar and no error to anyone.
  function report(leaving) {
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
    return fetch(presenceUrl, {
      method: "POST", keepalive: leaving, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ leaving }),
    });
  }

  async function beat() {
    try {
      const response = await report(false);
      if (!response.ok) throw new Error(String(response.status));
      const seen = await response.json();
      const others = seen.viewers.filter((viewer) => viewer.login !== me);
      presence.textContent = others.length
        ? `Сейчас смотрят: ${others.map((viewer) => viewer.name).join(", ")}`
        : "Больше никто не смотрит";
      presence.hidden = false;
      const holder = document.getElementById("claimed-by");
      if (holder) holder.textContent = seen.claimed_by_name || "никого";
    } catch (failure) {
      presence.hidden = true; // a hint only: its failure must not disturb the work
    }
  }

  beat();
  setInterval(beat, 10000);
  window.addEventListener("pagehide", () => { report(true).catch(() => {}); });

  otklik.live((changed) => {
    if (changed.length === 0 || changed.some((change) => change.id === id)) {
      redraw().catch((failure) => otklik.toast(failure.message, "error"));
      beat(); // a colleague's claim shows in «В работе у» at once
    }
  });
})();
