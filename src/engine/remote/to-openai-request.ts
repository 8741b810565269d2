// Translates Ostrom's internal chat and completion requests into the JSON bodies an OpenAI-compatible
// upstream (vLLM, llama.cpp's server, Ollama's /v1) accepts: the reverse direction of
// src/api/openai/*-request.ts. Asks for a stream with usage, unless the request says its consumer only
// wants the whole answer (`stream: false`): then for one JSON answer, which costs both sides less than
// re-assembling ~20 stream events. Pure; depends only on the engine's types.
import type {
  ChatMessage,
  ChatRequest,
  CompletionRequest,
  ResponseFormat,
  SamplingOptions,
  ToolChoice,
} from "../engine.ts";

type JsonObject = { [key: string]: unknown };

export function toOpenAIChatBody(request: ChatRequest): JsonObject {
  const withTools = request.tools.length > 0;
  return {
    model: request.model.ref,
    messages: request.messages.map(toOpenAIMessage),
    ...toSamplingFields(request.sampling),
    ...toResponseFormatField(request.responseFormat),
    ...(withTools
      ? {
          tools: request.tools.map((tool) => ({
            type: "function",
            function: {
              name: tool.name,
              ...(tool.description === undefined ? {} : { description: tool.description }),
              ...(tool.parameters === undefined ? {} : { parameters: tool.parameters }),
            },
          })),
          tool_choice: toOpenAIToolChoice(request.toolChoice),
        }
      : {}),
    ...toStreamFields(request.stream),
  };
}

export function toOpenAICompletionBody(request: CompletionRequest): JsonObject {
  return {
    model: request.model.ref,
    prompt: request.prompt,
    ...toSamplingFields(request.sampling),
    ...toResponseFormatField(request.responseFormat),
    ...toStreamFields(request.stream),
  };
}

/** `stream_options` only with a stream: OpenAI refuses it otherwise. */
function toStreamFields(stream: boolean | undefined): JsonObject {
  return stream === false ? { stream: false } : { stream: true, stream_options: { include_usage: true } };
}

function toOpenAIMessage(message: ChatMessage): JsonObject {
  const hasToolCalls = message.toolCalls !== undefined && message.toolCalls.length > 0;
  return {
    role: message.role,
    // OpenAI's own answers carry `content: null` beside tool calls; some servers reject "" there.
    content: hasToolCalls && message.content === "" ? null : message.content,
    ...(hasToolCalls
      ? {
          tool_calls: message.toolCalls?.map((call) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: call.arguments },
          })),
        }
      : {}),
    ...(message.toolCallId === undefined ? {} : { tool_call_id: message.toolCallId }),
    ...(message.name === undefined ? {} : { name: message.name }),
  };
}

/** Unset options are left out, so that the upstream applies its own defaults for them. */
function toSamplingFields(sampling: SamplingOptions): JsonObject {
  const fields: JsonObject = {
    max_tokens: sampling.maxTokens,
    temperature: sampling.temperature,
    top_p: sampling.topP,
    // Not in OpenAI's API, but understood by vLLM, llama.cpp's server and Ollama, which ignore
    // fields they do not know.
    top_k: sampling.topK,
    min_p: sampling.minP,
    seed: sampling.seed,
    stop: sampling.stop,
    presence_penalty: sampling.presencePenalty,
    frequency_penalty: sampling.frequencyPenalty,
    // llama.cpp's server calls it repeat_penalty, vLLM repetition_penalty: send both.
    repeat_penalty: sampling.repeatPenalty,
    repetition_penalty: sampling.repeatPenalty,
    logit_bias:
      sampling.logitBias === undefined
        ? undefined
        : Object.fromEntries(Object.entries(sampling.logitBias).map(([token, bias]) => [token, bias])),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function toResponseFormatField(format: ResponseFormat): JsonObject {
  switch (format.type) {
    case "text":
      return {};
    case "json_object":
      return { response_format: { type: "json_object" } };
    case "json_schema":
      // The client's schema name is not kept in the internal request; any valid name will do.
      return {
        response_format: { type: "json_schema", json_schema: { name: "response", schema: format.schema } },
      };
    default:
      return format satisfies never;
  }
}

function toOpenAIToolChoice(choice: ToolChoice): unknown {
  switch (choice.type) {
    case "auto":
    case "none":
    case "required":
      return choice.type;
    case "function":
      return { type: "function", function: { name: choice.name } };
    default:
      return choice satisfies never;
  }
}
