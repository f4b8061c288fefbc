// «Уведомления»: the form puts the user's preferences as JSON to /api/me/notifications
// (otklik.api sends the CSRF token); a refusal shows the server's reason under the form.
"use strict";

(() => {
  const form = document.getElementById("notification-preferences");
  if (!form) return;

  function body() {
    const value = (name) => form.elements[name].value.trim() || null;
    return {
      email: value("email"),
      telegram_chat: value("telegram_chat"),
      kinds: Array.from(form.querySelectorAll("input[name=kinds]:checked"), (box) => box.value),
      digest: form.elements.digest.value === "true",
      digest_hour: Number(form.elements.digest_hour.value),
      timezone: value("timezone"),
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    otklik.send(form, "/api/me/notifications", body(), form.dataset.done, "PUT");
  });
})();
