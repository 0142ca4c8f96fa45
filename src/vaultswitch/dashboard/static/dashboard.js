// vaultswitch control center: progressive enhancement only; every form works without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The VGS form: show "Vault base URL" / "Auth base URL" only with "Custom URLs".
  function syncEnvironment(form) {
    var custom = form.querySelector(".custom-urls");
    var chosen = form.querySelector('input[name="environment"]:checked');
    if (!custom) return;
    custom.hidden = !(chosen && chosen.value === "custom");
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector('input[name="environment"]')) return;
    syncEnvironment(form);
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "environment") syncEnvironment(form);
    });
  });

  // One submit per click: a second click while the connection test runs does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "yes") { event.preventDefault(); return; }
    form.dataset.sent = "yes";
    window.setTimeout(function () { form.dataset.sent = ""; }, 15000);
  });
})();
