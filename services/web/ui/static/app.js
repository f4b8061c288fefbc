// otklik — shared page behaviour: calls to the JSON API with the CSRF token, messages, the
// keyboard help, the live event stream and the deadline countdowns. No library, no build step.
// Text from the server is only ever put into the page with textContent, never innerHTML.
"use strict";

const otklik = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  // Countdowns run on the server's clock, not this computer's (which may be minutes off): the
  // difference is taken once, when the page arrives.
  const served = Date.parse(document.querySelector('meta[name="server-time"]')?.content || "");
  const skew = Number.isNaN(served) ? 0 : served - Date.now();
  const keys = new Map(); // key -> handler, registered by the page scripts
  let pending = 0;
  let prefix = null;

  function progress(delta) {
    pending += delta;
    const bar = document.getElementById("progress");
    if (bar) bar.hidden = pending <= 0;
  }

  function toast(message, kind = "info") {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast " + kind;
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = message;
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 9000 : 4000);
  }

  function flash(message) {
    sessionStorage.setItem("otklik-flash", message);
  }

  function describe(status, body) {
    const detail = body && body.detail;
    if (status === 401) return "Сессия истекла — войдите снова. Сейчас откроется страница входа.";
    if (status === 422 && Array.isArray(detail)) {
      return "Проверьте поля формы: " + detail.map((d) => d.msg).join("; ");
    }
    if (typeof detail === "string" && detail) return detail;
    if (status === 403) return "Недостаточно прав для этого действия.";
    if (status >= 500) {
      return `Ошибка сервера (код ${status}). Повторите позже; если повторяется — сообщите администратору.`;
    }
    return `Запрос не выполнен (код ${status}).`;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, url, body) {
    progress(1);
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, "Нет связи с сервером. Проверьте подключение и повторите.");
    } finally {
      progress(-1);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401) {
        setTimeout(() => location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search)), 1500);
      }
      throw new ApiError(response.status, describe(response.status, data));
    }
    return data;
  }

  async function fetchText(url) {
    progress(1);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.redirected && new URL(response.url).pathname === "/login") {
        throw new ApiError(401, describe(401));
      }
      if (!response.ok) throw new ApiError(response.status, describe(response.status));
      return await response.text();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, "Нет связи с сервером. Проверьте подключение и повторите.");
    } finally {
      progress(-1);
    }
  }

  // Deadlines: the same thresholds as services/web/ui/formatting.py.
  const HOUR = 3600e3;
  function urgency(ms) {
    if (ms < 0) return "overdue";
    if (ms <= 2 * HOUR) return "urgent";
    return ms <= 8 * HOUR ? "soon" : "calm";
  }
  function span(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60e3);
    const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    if (days) return `${days} дн ${hours} ч`;
    if (hours) return `${hours} ч ${minutes % 60} мин`;
    return minutes ? `${minutes} мин` : "менее минуты";
  }
  function tick() {
    const now = Date.now() + skew;
    for (const cell of document.querySelectorAll("[data-due]")) {
      if (!cell.dataset.due) continue;
      const left = Date.parse(cell.dataset.due) - now;
      cell.textContent = left < 0 ? `просрочено на ${span(left)}` : `через ${span(left)}`;
      cell.classList.remove("overdue", "urgent", "soon", "calm");
      cell.classList.add(urgency(left));
    }
  }

  // One stream per page however many of its parts listen (the incident page: its facts and its
  // notes): each EventSource is a connection the server holds open.
  const listeners = [];
  let stream = null;

  function live(onChange) {
    listeners.push(onChange);
    if (stream) return stream;
    const tell = (changed) => { for (const listener of listeners) listener(changed); };
    const status = document.getElementById("live-status");
    const say = (text) => { if (status) status.textContent = text; };
    const source = new EventSource("/ui/events");
    stream = source;
    let connected = false;
    source.addEventListener("ready", () => {
      say("● обновляется само");
      if (connected) tell([]); // reconnected: catch up on what changed in between
      connected = true;
    });
    source.addEventListener("incidents", (event) => tell(JSON.parse(event.data).changed));
    source.onerror = () => {
      say(source.readyState === EventSource.CLOSED
        ? "нет обновлений: обновите страницу"
        : "нет связи с сервером — переподключаемся…");
    };
    return source;
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  // Shortcuts are named by the Latin letter of the physical key (KeyboardEvent.code), so they
  // work on the Russian layout too: «о» is the J key, «с» the C key. "/" and "?" likewise.
  function keyName(event) {
    if (/^Key[A-Z]$/.test(event.code)) return event.code.slice(3).toLowerCase();
    if (event.code === "Slash") return event.shiftKey ? "?" : "/";
    return event.key;
  }

  function onKey(event) {
    const help = document.getElementById("help");
    const key = keyName(event);
    if (event.key === "Escape") {
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (help && help.open) return;
    if (prefix === "g") {
      prefix = null;
      if (key === "q") location.assign("/queue");
      if (key === "i") location.assign("/indicators");
      return;
    }
    if (key === "g") { prefix = "g"; setTimeout(() => { prefix = null; }, 1200); return; }
    if (key === "?" && help) { event.preventDefault(); help.showModal(); return; }
    const handler = keys.get(key);
    if (handler) { event.preventDefault(); handler(event); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("keydown", onKey);
    for (const button of document.querySelectorAll("[data-open-help]")) {
      button.addEventListener("click", () => document.getElementById("help")?.showModal());
    }
    const message = sessionStorage.getItem("otklik-flash");
    if (message) { sessionStorage.removeItem("otklik-flash"); toast(message); }
    tick();
    setInterval(tick, 30e3);
  });

  // A page form's action: send ``payload`` to ``url`` (POST unless ``method`` says otherwise),
  // then reload with ``done`` as the message; a refusal shows the server's reason next to the
  // form, which stays as it was typed.
  async function send(form, url, payload, done, method = "POST") {
    const error = form.querySelector(".form-error");
    const button = form.querySelector("button[type=submit]");
    if (!form.reportValidity()) return;
    error.hidden = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await api(method, url, payload);
      flash(done || "Готово.");
      location.reload();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  return { api, fetchText, toast, flash, live, keys, tick, send, ApiError };
})();
