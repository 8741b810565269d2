/**
 * Request fields whose grammar cannot end before about a thousand tokens, so a generation runs until
 * max_tokens, a disconnect or a kill: a random-weight model may otherwise pick its end token at any step.
 */
export const endless = {
  response_format: {
    type: "json_schema",
    json_schema: { name: "numbers", schema: { type: "array", items: { type: "integer" }, minItems: 500 } },
  },
} as const;
