// node-llama-cpp's JSON-schema grammar lets numbers carry exponents of up to 16 digits, and integers
// too, so a constrained model can write `"age": 5e168628055222669` — valid JSON text that parses to
// Infinity and fails the client's schema. This rewrites those two rules of the generated GBNF: no
// exponent for integers, at most two exponent digits for other numbers (within double range).

const exponent = String.raw`([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?`;

export function tightenJsonNumberRules(grammar: string): string {
  return grammar
    .split("\n")
    .map((line) => {
      if (line.startsWith("integer-number-rule ::=")) return line.replace(exponent, "").trimEnd();
      if (line.startsWith("fractional-number-rule ::="))
        return line.replace(exponent, String.raw`([eE] [-+]? [0-9]{1,2})?`);
      return line;
    })
    .join("\n");
}
