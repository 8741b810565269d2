// Builds a deterministic SentencePiece-style vocabulary (llama.cpp's "llama" tokenizer model) for the
// random-weight models Ostrom generates: special tokens, the 256 byte-fallback tokens, ChatML control
// tokens and made-up English pieces. It makes tokenisation and chat templates work; it says nothing
// about any real language model's vocabulary. Pure; no I/O.

/** llama.cpp's token types (`enum llama_token_type`). */
export const sentencePieceTokenTypes = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

export interface SentencePieceVocabulary {
  tokens: string[];
  scores: number[];
  tokenTypes: number[];
  unknownId: number;
  bosId: number;
  eosId: number;
  /** `<|im_start|>` and `<|im_end|>`, the last two tokens. */
  chatStartId: number;
  chatEndId: number;
}

/** The word-boundary marker SentencePiece puts in front of pieces that start a word. */
const space = "\u2581";
const minimumSize = 300;
const maximumSize = 400_000;

const commonWords = `the of and to in is you that it he was for on are as with his they at be this have from
or one had by word but not what all were we when your can said there use an each which she do how their if
will up other about out many then them these so some her would make like him into time has look two more
write go see number no way could people my than first water been call who oil its now find long down day
did get come made may part over new sound take only little work know place year live me back give most very
after thing our just name good sentence man think say great where help through much before line right too
mean old any same tell boy follow came want show also around form three small set put end does another well
large must big even such because turn here why ask went men read need land different home us move try kind
hand picture again change off play spell air away animal house point page letter mother answer found study
still learn should world once upon girl named lily loved happy story sun tree park friend dog cat ball red`
  .split(/\s+/)
  .filter((word) => word !== "");

const lowercase = "abcdefghijklmnopqrstuvwxyz";
const uppercase = lowercase.toUpperCase();
const digits = "0123456789";
const punctuation = ".,!?'\"-:;()";

/** Creates a vocabulary of exactly `size` unique tokens (at least 300). */
export function createSentencePieceVocabulary(size: number): SentencePieceVocabulary {
  if (!Number.isInteger(size) || size < minimumSize || size > maximumSize) {
    throw new RangeError(
      `Vocabulary size must be an integer from ${minimumSize} to ${maximumSize}, not ${size}`,
    );
  }
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const tokenTypes: number[] = [
    sentencePieceTokenTypes.unknown,
    sentencePieceTokenTypes.control,
    sentencePieceTokenTypes.control,
  ];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    tokenTypes.push(sentencePieceTokenTypes.byte);
  }
  const chatTokens = ["<|im_start|>", "<|im_end|>"];
  const pieceCount = size - tokens.length - chatTokens.length;

  const pieces = new Set<string>();
  for (const piece of generatePieces()) {
    if (pieces.size === pieceCount) {
      break;
    }
    pieces.add(piece);
  }
  // Earlier pieces score higher, so llama.cpp's merge loop prefers letters and whole common words.
  const scores = tokens.map(() => 0);
  let rank = 0;
  for (const piece of pieces) {
    tokens.push(piece);
    tokenTypes.push(sentencePieceTokenTypes.normal);
    scores.push(-rank++);
  }
  const chatStartId = tokens.length;
  for (const token of chatTokens) {
    tokens.push(token);
    tokenTypes.push(sentencePieceTokenTypes.control);
    scores.push(0);
  }
  return {
    tokens,
    scores,
    tokenTypes,
    unknownId: 0,
    bosId: 1,
    eosId: 2,
    chatStartId,
    chatEndId: chatStartId + 1,
  };
}

/** Yields candidate pieces, most useful first; duplicates are dropped by the caller. */
function* generatePieces(): Generator<string> {
  yield space;
  for (const letter of lowercase) {
    yield letter;
    yield space + letter;
  }
  for (const character of uppercase + digits + punctuation) {
    yield character;
    yield space + character;
  }
  // Every prefix of "▁word", so that pairwise merges can build the whole word.
  for (const word of commonWords) {
    for (let end = 2; end <= word.length; end++) {
      yield space + word.slice(0, end);
    }
    yield word;
  }
  // Then letter combinations, shortest first, until the vocabulary is full (26^4 · 2 is plenty).
  for (let length = 2; length <= 4; length++) {
    for (const combination of combinations(length)) {
      yield combination;
      yield space + combination;
    }
  }
}

function* combinations(length: number): Generator<string> {
  const total = lowercase.length ** length;
  for (let index = 0; index < total; index++) {
    let text = "";
    let rest = index;
    for (let position = 0; position < length; position++) {
      text = lowercase[rest % lowercase.length] + text;
      rest = Math.floor(rest / lowercase.length);
    }
    yield text;
  }
}
