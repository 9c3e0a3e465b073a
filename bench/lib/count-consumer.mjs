// A range consumer for the reader benchmark's parallel run: it counts top-level elements, like the
// other parsers' callbacks do, so every parser in the benchmark does the same work per element.
export function createRangeConsumer() {
  let elements = 0;
  return {
    onElement() {
      elements++;
    },
    onDefect() {},
    finish() {
      return { partial: elements };
    },
  };
}
