/* Our words where the browser would show its own (in the browser's language, not the page's):
   - the messages of the browser's checks of a field (required, an e-mail address, a pattern,
     a number's range) are set with setCustomValidity, a field's own `data-pattern-message`
     first;
   - a file field shows our button and the chosen file's name; the real <input type=file>
     stays, transparent over them, so clicking, the keyboard, dropping a file and screen
     readers use it as before.
   The words come from the catalogs, in this script tag's data- attributes (layout.pt).
   Without JavaScript the browser's own controls and messages remain. */
(function () {
  "use strict";
  var words = document.currentScript.dataset;

  function message(field) {
    var validity = field.validity;
    if (validity.valueMissing) {
      if (field.type === "file") {
        return words.requiredFile;
      }
      return field.tagName === "SELECT" ? words.requiredChoice : words.required;
    }
    if (validity.typeMismatch && field.type === "email") {
      return words.email;
    }
    if (validity.patternMismatch) {
      return field.dataset.patternMessage || words.pattern;
    }
    if (field.type === "number" && field.min && field.max) {
      return words.numberRange.replace("${min}", field.min).replace("${max}", field.max);
    }
    return words.invalid;
  }

  document.addEventListener("invalid", function (event) {
    var field = event.target;
    field.setCustomValidity("");
    if (!field.validity.valid) {
      field.setCustomValidity(message(field));
    }
  }, true);

  function clear(event) {
    if (event.target.setCustomValidity) {
      event.target.setCustomValidity("");
    }
  }
  document.addEventListener("input", clear, true);
  document.addEventListener("change", clear, true);

  function dress(input) {
    var box = document.createElement("span");
    var button = document.createElement("span");
    var name = document.createElement("span");
    box.className = "registry-file";
    button.className = "btn btn-outline-secondary btn-sm registry-file-button";
    button.textContent = input.multiple ? words.chooseFiles : words.chooseFile;
    name.className = "registry-file-name";
    button.setAttribute("aria-hidden", "true");
    name.setAttribute("aria-hidden", "true");
    input.parentNode.insertBefore(box, input);
    box.appendChild(button);
    box.appendChild(name);
    box.appendChild(input);
    input.classList.add("registry-file-input");

    function show() {
      var files = input.files || [];
      if (files.length > 1) {
        name.textContent = words.fileCount.replace("${count}", files.length);
      } else if (files.length === 1) {
        name.textContent = files[0].name;
      } else {
        name.textContent = input.getAttribute("data-filename") || words.noFile;
      }
    }
    input.addEventListener("change", show);
    show();
  }

  document.querySelectorAll("input[type=file]").forEach(dress);
}());
