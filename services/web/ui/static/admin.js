// The admin page: every form posts JSON to /api/admin/... with the CSRF token (otklik.api);
// the server checks the role again and answers refusals in Russian, shown next to the form.
"use strict";

(() => {
  const chosen = (form, name) => {
    const field = form.elements[name];
    return field ? Array.from(field.selectedOptions, (option) => option.value) : [];
  };
  const scope = (form) => ({
    municipalities: chosen(form, "municipalities"),
    regions: chosen(form, "regions"),
    departments: chosen(form, "departments"),
  });

  function body(form) {
    const value = (name) => form.elements[name].value;
    switch (form.dataset.kind) {
      case "add":
        return {
          login: value("login").trim(),
          display_name: value("display_name").trim() || null,
          role: value("role"),
          password: value("password"),
          scope: scope(form),
        };
      case "role":
        return { role: value("role") };
      case "password":
        return { password: value("password") };
      case "scope":
        return scope(form);
      default:
        return undefined; // disable, enable, logout
    }
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    await otklik.send(form, form.dataset.url, body(form), form.dataset.done);
  }

  for (const form of document.querySelectorAll("form.admin-action")) {
    form.addEventListener("submit", submit);
  }
})();
