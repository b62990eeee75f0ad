/* Portcullis: the little behaviour pages need beyond htmx. Every page works without it. */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP portals have no Clipboard API; the old selection route still works there.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy") ? resolve() : reject(new Error("copy refused"));
      } catch (error) {
        reject(error);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) {
      var label = button.textContent;
      copyText(button.getAttribute("data-copy")).then(
        function () {
          button.textContent = "Copied";
        },
        function () {
          button.textContent = "Press Ctrl+C";
        }
      ).finally(function () {
        setTimeout(function () {
          button.textContent = label;
        }, 1500);
      });
      return;
    }
    var dismiss = event.target.closest("button.dismiss");
    if (dismiss) {
      var alert = dismiss.closest(".alert");
      if (alert) {
        alert.remove();
      }
    }
  });

  function submitButtons(element) {
    if (!element || !element.querySelectorAll) {
      return [];
    }
    if (element.matches("button")) {
      return [element];
    }
    return Array.prototype.slice.call(element.querySelectorAll("button[type=submit], button:not([type])"));
  }

  // Pico shows a spinner on aria-busy buttons: mark the button whose request is in flight.
  document.addEventListener("htmx:beforeRequest", function (event) {
    submitButtons(event.detail.elt).forEach(function (button) {
      button.setAttribute("aria-busy", "true");
    });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    submitButtons(event.detail.elt).forEach(function (button) {
      button.removeAttribute("aria-busy");
    });
  });

  // The portal itself did not answer (network down, server restarting).
  document.addEventListener("htmx:sendError", function () {
    var messages = document.getElementById("messages");
    if (messages) {
      messages.innerHTML =
        '<div class="alert error" role="alert"><p>The portal did not answer. ' +
        "Check your connection and try again.</p></div>";
    }
  });
})();
