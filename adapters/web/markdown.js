// The bot's small markdown subset, shared by the widget and the review page
// so a transcript reads as the person saw it: **bold**, *italic*, lines
// starting "- " or "1. ", paragraphs at blank lines, line breaks, and
// [label](url) or bare links, which become anchors only for http: and
// https:. Built with DOM calls; nothing is ever parsed as HTML. The server
// serves /widget.js as this file followed by widget.js (one file for sites
// to embed); /admin loads it as /markdown.js. tests/admin checks the page
// renders what the widget renders.
(function () {
  "use strict";

  const INLINE = /\*\*(.+?)\*\*|\*([^*\s](?:[^*]*[^*\s])?)\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"']+)/g;
  const MAX_INLINE_DEPTH = 2;

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // options.linkClass: a class for the anchors (the widget styles its own).
  function render(text, options) {
    const linkClass = (options && options.linkClass) || "";
    const fragment = document.createDocumentFragment();
    let paragraph = null;
    let list = null;
    for (const line of String(text).replace(/\r\n?/g, "\n").split("\n")) {
      const bullet = /^\s*[-*\u2022]\s+(.*)$/.exec(line);
      const numbered = bullet ? null : /^\s*(\d{1,3})[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        const tag = bullet ? "UL" : "OL";
        if (!list || list.tagName !== tag) {
          list = el(tag.toLowerCase());
          if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
          fragment.append(list);
        }
        const item = el("li");
        appendInline(item, bullet ? bullet[1] : numbered[2], 0, linkClass);
        list.append(item);
        paragraph = null;
        continue;
      }
      list = null;
      if (!line.trim()) {
        paragraph = null;
        continue;
      }
      if (paragraph) {
        paragraph.append(el("br"));
      } else {
        paragraph = el("p");
        fragment.append(paragraph);
      }
      appendInline(paragraph, line, 0, linkClass);
    }
    return fragment;
  }

  function appendInline(parent, text, depth, linkClass) {
    let done = 0;
    for (const match of text.matchAll(INLINE)) {
      parent.append(text.slice(done, match.index));
      done = match.index + match[0].length;
      const [, bold, italic, label, target, bare] = match;
      if (bold !== undefined || italic !== undefined) {
        const node = el(bold !== undefined ? "strong" : "em");
        const inner = bold !== undefined ? bold : italic;
        if (depth < MAX_INLINE_DEPTH) appendInline(node, inner, depth + 1, linkClass);
        else node.append(inner);
        parent.append(node);
      } else if (label !== undefined) {
        parent.append(safeLink(target, label, linkClass));
      } else {
        // Punctuation that ends a sentence is not part of the address.
        const trailing = /[.,;:!?)\]]+$/.exec(bare);
        const address = trailing ? bare.slice(0, -trailing[0].length) : bare;
        parent.append(safeLink(address, address, linkClass));
        if (trailing) parent.append(trailing[0]);
      }
    }
    parent.append(text.slice(done));
  }

  // Only http(s) links become anchors; anything else stays visible as text.
  function safeLink(address, label, linkClass) {
    let url;
    try {
      url = new URL(address);
    } catch (e) {
      return document.createTextNode(label === address ? label : label + " (" + address + ")");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return document.createTextNode(label === address ? label : label + " (" + address + ")");
    }
    const link = el("a", label);
    if (linkClass) link.className = linkClass;
    link.href = url.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  window.backtalkMarkdown = { render };
})();
