// The reply templates admin page: each form sends JSON to /api/admin/reply-templates with its
// method (POST, PUT, DELETE) and the CSRF token (otklik.api); refusals (an unknown placeholder,
// a taken code) are shown next to the form in the server's Russian words.
"use strict";

(() => {
  function body(form) {
    if (form.dataset.method === "DELETE") return undefined;
    const value = (name) => form.elements[name].value;
    const payload = {
      title: value("title").trim(),
      text: value("text").trim(),
      final: form.elements.final.checked,
      municipality: value("municipality") || null,
      department: value("department") || null,
    };
    if (form.elements.id) payload.id = value("id").trim();
    return payload;
  }

  function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    if (!form.reportValidity()) return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    otklik.send(form, form.dataset.url, body(form), form.dataset.done, form.dataset.method);
  }

  for (const form of document.querySelectorAll("form.template-form")) {
    form.addEventListener("submit", submit);
  }
})();
