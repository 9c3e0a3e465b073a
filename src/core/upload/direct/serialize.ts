import type { ExportElement } from '../../reader/types.js';

/**
 * Normalized XML for the backend's direct import: canonical escaping, XML 1.0-legal characters only,
 * no DOCTYPE (contract §5.1: the stdlib parser dies on iOS 16's broken DTD and on U+000B).
 */

// C0 controls other than tab/LF/CR, lone surrogates and U+FFFE/U+FFFF are not XML 1.0 characters.
const ILLEGAL =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NEEDS_WORK = /[&<>"\u0000-\u001f\ud800-\udfff\ufffe\uffff]/;

/** Escapes an attribute value; tab/LF/CR become references so attribute normalisation keeps them. */
export function escapeAttr(value: string): string {
  if (!NEEDS_WORK.test(value)) return value;
  return value.replace(ILLEGAL, '').replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case '\t':
        return '&#9;';
      case '\n':
        return '&#10;';
      default:
        return '&#13;';
    }
  });
}

/** Element names come from the reader's name grammar; only the illegal characters need removing. */
function cleanName(name: string): string {
  return name.replace(ILLEGAL, '');
}

/** One element (and its kept children) as XML text, one element per line, indented like Apple's. */
export function serializeElement(el: ExportElement, indent = ' '): string {
  let s = `${indent}<${cleanName(el.name)}`;
  for (const key in el.attrs) s += ` ${cleanName(key)}="${escapeAttr(el.attrs[key] as string)}"`;
  if (el.children.length === 0) return `${s}/>\n`;
  s += '>\n';
  for (const child of el.children) s += serializeElement(child, `${indent} `);
  return `${s}${indent}</${cleanName(el.name)}>\n`;
}

/** Document prologue: declaration, root with its locale, and ExportDate when known. */
export function documentHeader(locale: string | null, exportDate: string | null): string {
  const root = locale === null ? '<HealthData>' : `<HealthData locale="${escapeAttr(locale)}">`;
  const date = exportDate === null ? '' : ` <ExportDate value="${escapeAttr(exportDate)}"/>\n`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n${date}`;
}

export const DOCUMENT_FOOTER = '</HealthData>\n';
