#!/usr/bin/env python3
# The fusion-stage training step of core/src/training/fusion_step.cpp re-implemented in PyTorch, timed.
"""Python twin of DHA Studio's fusion step, for dha_bench_fusion_step (issue 6, "Speed").

It re-implements, op for op, the engine's Llama forward pass (core/src/model, kernels/cpu: RMSNorm in fp32,
RoPE on concatenated halves, per-query-head gathered causal attention, SwiGLU, tied head) and its fusion step
(core/src/training/fusion_step.cpp, fusion_stage.cpp, conversion/fusion_weights.cpp, adamw.cpp): the fused
k/v projections built from the fusion blocks and the source heads, the LM loss plus the augmented Lagrangian
on the summed fusion loss, backward, gradient clipping of the model weights, AdamW for the weights and for
the blocks, gradient ascent for the multipliers.

Two variants of the step:
  mirror  the engine's structure: the fused projections are copied into the fused model's own k/v weights,
          backward runs twice (the loss, then the chain rule through the fused projections) and the fused
          weights are refreshed after the update;
  direct  what one would write in Python: the fused projections enter the forward pass inside the graph, so
          one backward reaches the blocks and the source heads, and nothing needs refreshing.
Both compute the same gradients and updates.

Everything read is untrusted: the safetensors files are parsed by hand (JSON header + torch.frombuffer, no
pickle) and every size, offset, dtype and shape is checked; a bad file ends the run with one message naming
it (exit 2). Prints one JSON line: tokens/s, ms/step, the first step's LM and fusion loss.
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:  # the bench turns this into its "no torch" exit
    print(json.dumps({"error": "no torch: %s" % error}))
    sys.exit(77)

MAX_HEADER_BYTES = 100 * 1024 * 1024
DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
          "F64": (torch.float64, 8)}


class InputError(Exception):
    def __init__(self, path, message):
        super().__init__("%s: %s" % (path, message))


# ---- Reading the model, the plan and the batches (all untrusted).

def read_json(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_HEADER_BYTES + 1)
    except OSError as error:
        raise InputError(path, "cannot be read (%s)" % error.strerror)
    if len(text) > MAX_HEADER_BYTES:
        raise InputError(path, "is larger than %d bytes" % MAX_HEADER_BYTES)
    try:
        return json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(path, "is not valid JSON (%s)" % error)


def read_safetensors(path):
    """{name: float32 tensor} of one safetensors file, every header entry checked against the file size."""
    try:
        with open(path, "rb") as handle:
            data = bytearray(handle.read())
    except OSError as error:
        raise InputError(path, "cannot be read (%s)" % error.strerror)
    if len(data) < 8:
        raise InputError(path, "is %d bytes, too short for a safetensors header" % len(data))
    header_size = int.from_bytes(data[:8], "little")
    if header_size > MAX_HEADER_BYTES or 8 + header_size > len(data):
        raise InputError(path, "header size %d does not fit the file of %d bytes" % (header_size, len(data)))
    try:
        header = json.loads(data[8:8 + header_size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(path, "header is not valid JSON (%s)" % error)
    if not isinstance(header, dict):
        raise InputError(path, "header is not a JSON object")
    base = 8 + header_size
    available = len(data) - base
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise InputError(path, "tensor %r needs exactly dtype, shape and data_offsets" % name)
        dtype = entry["dtype"]
        if dtype not in DTYPES:
            raise InputError(path, "tensor %r has dtype %r (F32, F16, BF16 or F64 expected)" % (name, dtype))
        shape, offsets = entry["shape"], entry["data_offsets"]
        if (not isinstance(shape, list) or len(shape) > 8 or
                not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2 ** 40 for d in shape)):
            raise InputError(path, "tensor %r has an invalid shape %r" % (name, shape))
        if (not isinstance(offsets, list) or len(offsets) != 2 or
                not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets) or
                not 0 <= offsets[0] <= offsets[1] <= available):
            raise InputError(path, "tensor %r has data_offsets %r outside the %d data bytes" %
                             (name, offsets, available))
        torch_dtype, item_size = DTYPES[dtype]
        count = math.prod(shape)
        if offsets[1] - offsets[0] != count * item_size:
            raise InputError(path, "tensor %r spans %d bytes; %s of shape %r needs %d" %
                             (name, offsets[1] - offsets[0], dtype, shape, count * item_size))
        if count == 0:
            value = torch.zeros(shape, dtype=torch_dtype)
        else:
            value = torch.frombuffer(data, dtype=torch_dtype, count=count, offset=base + offsets[0])
        tensors[name] = value.reshape(shape).to(torch.float32).clone()
    return tensors


def read_checkpoint(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.isfile(single):
        return read_safetensors(single)
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.isfile(index_path):
        raise InputError(model_dir, "has neither model.safetensors nor model.safetensors.index.json")
    index = read_json(index_path)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise InputError(index_path, "has no weight_map object")
    tensors = {}
    for shard in sorted(set(weight_map.values())):
        if not isinstance(shard, str) or os.path.basename(shard) != shard:
            raise InputError(index_path, "names a shard %r outside the model directory" % (shard,))
        tensors.update(read_safetensors(os.path.join(model_dir, shard)))
    return tensors


class Config:
    def __init__(self, path):
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise InputError(path, "is not a JSON object")

        def integer(key, default=None, low=1, high=1 << 24):
            value = raw.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InputError(path, "%s is %r, expected an integer in [%d, %d]" % (key, value, low, high))
            return value

        def number(key, default):
            value = raw.get(key, default)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise InputError(path, "%s is %r, expected a positive number" % (key, value))
            return float(value)

        self.model_type = raw.get("model_type", "llama")
        if self.model_type not in ("llama", "mistral", "qwen2"):
            raise InputError(path, "model_type %r is not llama, mistral or qwen2" % (self.model_type,))
        if "dha" in raw:
            raise InputError(path, "is a DHA model; the fusion stage starts from an MHA model")
        self.hidden = integer("hidden_size")
        self.layers = integer("num_hidden_layers", high=1024)
        self.heads = integer("num_attention_heads", high=4096)
        if integer("num_key_value_heads", self.heads, high=4096) != self.heads:
            raise InputError(path, "num_key_value_heads differs from num_attention_heads: not an MHA model")
        if "head_dim" in raw:
            self.head_dim = integer("head_dim", high=4096)
        elif self.hidden % self.heads:
            raise InputError(path, "hidden_size is not divisible by num_attention_heads")
        else:
            self.head_dim = self.hidden // self.heads
        if self.head_dim % 2:
            raise InputError(path, "head_dim %d must be even for rotary embeddings" % self.head_dim)
        self.intermediate = integer("intermediate_size")
        self.vocab = integer("vocab_size", high=1 << 22)
        self.eps = number("rms_norm_eps", 1e-6)
        self.theta = number("rope_theta", 10000.0)
        self.rope_factor = 1.0
        scaling = raw.get("rope_scaling")
        if scaling is not None:
            if not isinstance(scaling, dict):
                raise InputError(path, "rope_scaling is not an object")
            kind = scaling.get("rope_type", scaling.get("type"))
            if kind == "linear":
                self.rope_factor = float(scaling.get("factor", 0))
                if not self.rope_factor >= 1.0:
                    raise InputError(path, "rope_scaling.factor must be >= 1")
            elif kind != "default":
                raise InputError(path, "rope_scaling type %r is not supported" % (kind,))
        self.tied = raw.get("tie_word_embeddings", False) is True
        bias = raw.get("attention_bias", False) is True
        self.qkv_bias = bias if self.model_type == "llama" else self.model_type == "qwen2"
        self.o_bias = bias if self.model_type == "llama" else False
        self.window = None
        if self.model_type == "mistral" and raw.get("sliding_window") is not None:
            window = integer("sliding_window", high=1 << 30)
            if window < integer("max_position_embeddings", 4096, high=1 << 30):
                self.window = window


def load_model(model_dir, config):
    """The weights by Hugging Face name, each shape checked against the config; unknown tensors are errors."""
    tensors = read_checkpoint(model_dir)
    h, d, hd, i = config.hidden, config.head_dim, config.heads * config.head_dim, config.intermediate
    expected = {"model.embed_tokens.weight": [config.vocab, h], "model.norm.weight": [h]}
    if not config.tied:
        expected["lm_head.weight"] = [config.vocab, h]
    for layer in range(config.layers):
        p = "model.layers.%d." % layer
        for name in ("q", "k", "v"):
            expected[p + "self_attn.%s_proj.weight" % name] = [hd, h]
            if config.qkv_bias:
                expected[p + "self_attn.%s_proj.bias" % name] = [hd]
        expected[p + "self_attn.o_proj.weight"] = [h, hd]
        if config.o_bias:
            expected[p + "self_attn.o_proj.bias"] = [h]
        expected[p + "mlp.gate_proj.weight"] = [i, h]
        expected[p + "mlp.up_proj.weight"] = [i, h]
        expected[p + "mlp.down_proj.weight"] = [h, i]
        expected[p + "input_layernorm.weight"] = [h]
        expected[p + "post_attention_layernorm.weight"] = [h]
    weights = {}
    for name, shape in expected.items():
        if name not in tensors:
            raise InputError(model_dir, "has no tensor %s" % name)
        if list(tensors[name].shape) != shape:
            raise InputError(model_dir, "tensor %s has shape %s, the config needs %s" %
                             (name, list(tensors[name].shape), shape))
        weights[name] = tensors[name].requires_grad_(True)
    for name in tensors:  # what transformers ignores too (rotary tables, a tied model's lm_head)
        if name not in expected and not name.endswith("rotary_emb.inv_freq") and name != "lm_head.weight":
            raise InputError(model_dir, "has a tensor %s the config does not explain" % name)
    return weights


def load_plan(path, config):
    raw = read_json(path)
    if not isinstance(raw, dict) or raw.get("format_version") != 1:
        raise InputError(path, "is not a plan (format_version 1 expected)")
    if raw.get("source_heads") != config.heads:
        raise InputError(path, "source_heads %r does not match the model's %d heads" %
                         (raw.get("source_heads"), config.heads))
    layers = raw.get("layers")
    if not isinstance(layers, list) or len(layers) != config.layers:
        raise InputError(path, "needs %d layers" % config.layers)
    plan = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise InputError(path, "layers[%d] is not an object" % index)
        kinds = []
        for key in ("key_groups", "value_groups"):
            groups = layer.get(key)
            flat = [head for group in groups for head in group] if isinstance(groups, list) and all(
                isinstance(group, list) and group for group in groups) else None
            if flat is None or sorted(flat) != list(range(config.heads)) or not all(
                    isinstance(head, int) and not isinstance(head, bool) for head in flat):
                raise InputError(path, "layers[%d].%s is not a partition of heads 0..%d" %
                                 (index, key, config.heads - 1))
            kinds.append(groups)
        plan.append(kinds)  # [layer][0 = keys, 1 = values] -> groups
    return plan


def load_batches(path, count, batch, context, vocab):
    values = count * batch * (context + 1)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            data = bytearray(handle.read())
    except OSError as error:
        raise InputError(path, "cannot be read (%s)" % error.strerror)
    if size != values * 8 or len(data) != values * 8:
        raise InputError(path, "is %d bytes; %d int64 batches [%d, %d] need %d" %
                         (size, count, batch, context + 1, values * 8))
    tokens = torch.frombuffer(data, dtype=torch.int64).reshape(count, batch, context + 1).clone()
    if tokens.min().item() < 0 or tokens.max().item() >= vocab:
        raise InputError(path, "holds token ids outside the vocabulary of %d" % vocab)
    return tokens


# ---- The model (core/src/model, kernels/cpu).

def rms_norm(x, weight, eps):
    x_float = x.float()
    normalized = x_float * torch.rsqrt(x_float.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normalized.to(x.dtype)


def rope_tables(seq, config):
    exponents = torch.arange(0, config.head_dim, 2, dtype=torch.int64).float() / config.head_dim
    inv_freq = torch.reciprocal(torch.pow(config.theta, exponents))
    positions = torch.arange(0, seq, dtype=torch.int64).float()
    if config.rope_factor != 1.0:
        positions = positions / config.rope_factor
    freqs = positions.unsqueeze(0).unsqueeze(-1) * inv_freq  # [1, seq, d/2]
    angles = torch.cat([freqs, freqs], -1)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    half = x.size(3) // 2
    x_float = x.float()
    rotated = torch.cat([-x_float.narrow(-1, half, half), x_float.narrow(-1, 0, half)], -1)
    return (x_float * cos.unsqueeze(1) + rotated * sin.unsqueeze(1)).to(x.dtype)


def causal_attention(queries, keys, values, head_map, window):
    scale = 1.0 / math.sqrt(queries.size(3))
    keys = keys.index_select(1, head_map)
    values = values.index_select(1, head_map)
    scores = torch.matmul(queries, keys.transpose(-2, -1)).float() * scale
    length = queries.size(2)
    query_positions = torch.arange(0, length, dtype=torch.int64).unsqueeze(1)
    key_positions = torch.arange(length, dtype=torch.int64).unsqueeze(0)
    visible = key_positions <= query_positions
    if window is not None:
        visible = visible & (key_positions > query_positions - window)
    scores = scores.masked_fill(visible.logical_not(), float("-inf"))
    return torch.matmul(torch.softmax(scores, -1).to(queries.dtype), values)


def forward(weights, kv, tokens, config, head_map):
    """Logits (float32) of the model whose k/v projections of layer l are kv[l] = ((wk, bk), (wv, bv))."""
    lowest, highest = tokens.min().item(), tokens.max().item()  # the engine checks every batch too
    if lowest < 0 or highest >= config.vocab:
        raise InputError("tokens", "token id outside the vocabulary")
    batch, seq = tokens.shape
    cos, sin = rope_tables(seq, config)
    hidden = F.embedding(tokens, weights["model.embed_tokens.weight"])
    heads, d = config.heads, config.head_dim
    for layer in range(config.layers):
        p = "model.layers.%d." % layer
        x = rms_norm(hidden, weights[p + "input_layernorm.weight"], config.eps)
        (wk, bk), (wv, bv) = kv[layer]
        q = F.linear(x, weights[p + "self_attn.q_proj.weight"], weights.get(p + "self_attn.q_proj.bias"))
        queries = apply_rope(q.view(batch, seq, heads, d).transpose(1, 2), cos, sin)
        keys = apply_rope(F.linear(x, wk, bk).view(batch, seq, heads, d).transpose(1, 2), cos, sin)
        values = F.linear(x, wv, bv).view(batch, seq, heads, d).transpose(1, 2)
        attended = causal_attention(queries, keys, values, head_map, config.window)
        hidden = hidden + F.linear(attended.transpose(1, 2).reshape(batch, seq, heads * d),
                                   weights[p + "self_attn.o_proj.weight"], weights.get(p + "self_attn.o_proj.bias"))
        x = rms_norm(hidden, weights[p + "post_attention_layernorm.weight"], config.eps)
        gate = F.linear(x, weights[p + "mlp.gate_proj.weight"])
        up = F.linear(x, weights[p + "mlp.up_proj.weight"])
        hidden = hidden + F.linear(F.silu(gate) * up, weights[p + "mlp.down_proj.weight"])
    hidden = rms_norm(hidden, weights["model.norm.weight"], config.eps)
    output = weights["model.embed_tokens.weight"] if config.tied else weights["lm_head.weight"]
    return F.linear(hidden, output).float()


# ---- The fusion stage (conversion/fusion_weights.cpp, training/fusion_stage.cpp, fusion_step.cpp).

def group_fusion_loss(omega):
    rows = omega.float()
    n = rows.size(0)
    if n < 2:
        return (rows * 0.0).sum()
    squared = (rows.unsqueeze(1) - rows.unsqueeze(0)).pow(2).sum(-1)
    return squared.sum() / float(n * (n - 1))


class FusionState:
    def __init__(self, weights, plan, config):
        self.weights, self.plan, self.config = weights, plan, config
        self.head_map = torch.arange(config.heads, dtype=torch.int64)  # the fused model is MHA-shaped
        self.blocks = []   # [layer][kind] -> [block per group]
        self.members = []  # [layer][kind] -> [int64 index per group]
        self.inverse = []  # [layer][kind] -> int64 permutation back to source head order
        for layer in range(config.layers):
            blocks, members, inverse = [], [], []
            for groups in plan[layer]:
                blocks.append([torch.eye(len(g), dtype=torch.float32).requires_grad_(True) for g in groups])
                members.append([torch.tensor(g, dtype=torch.int64) for g in groups])
                order = [head for g in groups for head in g]
                back = [0] * len(order)
                for position, head in enumerate(order):
                    back[head] = position
                inverse.append(torch.tensor(back, dtype=torch.int64))
            self.blocks.append(blocks)
            self.members.append(members)
            self.inverse.append(inverse)
        self.block_list = [b for layer in self.blocks for kind in layer for b in kind]
        self.model_parameters = list(weights.values())  # the source k/v heads included
        # The fused model's own k/v weights (mirror variant): derived, never trained.
        self.fused = [[[None, None], [None, None]] for _ in range(config.layers)]
        with torch.no_grad():
            for layer in range(config.layers):
                for kind in range(2):
                    w, b = self.fused_projection(layer, kind)
                    self.fused[layer][kind] = [w.clone().requires_grad_(True),
                                               None if b is None else b.clone().requires_grad_(True)]
        decay = [p for p in self.model_parameters if p.dim() >= 2]
        no_decay = [p for p in self.model_parameters if p.dim() < 2]
        self.model_optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
        self.fusion_optimizer = torch.optim.AdamW(self.block_list, lr=1e-2, betas=(0.9, 0.95), eps=1e-8,
                                                  weight_decay=0.0)
        self.lambda1 = self.lambda2 = 0.0
        self.step = 0
        self.ramp_steps = 0  # FusionStageOptions' default: the target is 0 from the first step
        self.initial_loss = self.fusion_loss().item()

    def source(self, layer, kind):
        p = "model.layers.%d.self_attn.%s_proj." % (layer, "k" if kind == 0 else "v")
        return self.weights[p + "weight"], self.weights.get(p + "bias")

    def fused_projection(self, layer, kind):
        weight, bias = self.source(layer, kind)
        heads, d, h = self.config.heads, self.config.head_dim, self.config.hidden
        rows = weight.reshape(heads, d * h)
        blocks, members = self.blocks[layer][kind], self.members[layer][kind]
        slots = [torch.matmul(blocks[g], rows.index_select(0, members[g]).float()) for g in range(len(blocks))]
        fused_weight = torch.cat(slots, 0).index_select(0, self.inverse[layer][kind]).to(weight.dtype)
        fused_bias = None
        if bias is not None:
            bias_rows = bias.reshape(heads, d)
            bias_slots = [torch.matmul(blocks[g], bias_rows.index_select(0, members[g]).float())
                          for g in range(len(blocks))]
            fused_bias = torch.cat(bias_slots, 0).index_select(0, self.inverse[layer][kind]).to(bias.dtype)
            fused_bias = fused_bias.reshape(heads * d)
        return fused_weight.reshape(heads * d, h), fused_bias

    def fusion_loss(self):
        total = torch.zeros((), dtype=torch.float32)
        for block in self.block_list:
            total = total + group_fusion_loss(block)
        return total

    def target(self):
        if self.step >= self.ramp_steps:
            return 0.0
        return self.initial_loss * (1.0 - self.step / self.ramp_steps)


def fusion_step(state, batch, variant, bf16, clock):
    """One step; clock(phase) marks the end of a phase for --breakdown. Returns (lm loss, fusion loss)."""
    context = batch.size(1) - 1
    inputs, targets = batch.narrow(1, 0, context), batch.narrow(1, 1, context)
    state.model_optimizer.zero_grad(set_to_none=True)
    state.fusion_optimizer.zero_grad(set_to_none=True)
    layers = state.config.layers
    projections = [[state.fused_projection(layer, kind) for kind in range(2)] for layer in range(layers)]
    if variant == "mirror":
        with torch.no_grad():
            for layer in range(layers):
                for kind in range(2):
                    for slot, value in zip(state.fused[layer][kind], projections[layer][kind]):
                        if slot is not None:
                            slot.grad = None
                            slot.copy_(value)
        kv = state.fused
    else:
        kv = projections
    clock("projections")
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = forward(state.weights, kv, inputs, state.config, state.head_map)
    lm_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    fusion_loss = state.fusion_loss()
    target = state.target()
    gap = fusion_loss - target
    clock("forward")
    (lm_loss + (gap * state.lambda1 + gap.pow(2) * state.lambda2)).backward()
    lm_value, fusion_value = lm_loss.item(), fusion_loss.item()
    if not math.isfinite(lm_value) or not math.isfinite(fusion_value):
        raise RuntimeError("training diverged: LM loss %s, fusion loss %s" % (lm_value, fusion_value))
    if variant == "mirror":  # the chain rule through the fused projections, as the engine does it
        terms = []
        for layer in range(layers):
            for kind in range(2):
                for slot, value in zip(state.fused[layer][kind], projections[layer][kind]):
                    if slot is not None and slot.grad is not None:
                        terms.append((value * slot.grad).sum())
        if terms:
            torch.stack(terms).sum().backward()
    clock("backward")
    torch.nn.utils.clip_grad_norm_(state.model_parameters, 1.0).item()
    with torch.no_grad():  # the fusion blocks' norm is only measured, as the engine reports it
        torch.stack([b.grad.norm() for b in state.block_list if b.grad is not None]).norm().item()
    state.model_optimizer.step()
    state.fusion_optimizer.step()
    gap_value = fusion_value - target
    state.lambda1 += 1.0 * gap_value
    state.lambda2 += 1.0 * gap_value * gap_value
    clock("optimizer")
    if variant == "mirror":  # FusionStageState::finishStep: the fused weights follow the update
        with torch.no_grad():
            for layer in range(layers):
                for kind in range(2):
                    for slot, value in zip(state.fused[layer][kind], state.fused_projection(layer, kind)):
                        if slot is not None:
                            slot.copy_(value)
    state.step += 1
    clock("refresh")
    return lm_value, fusion_value


class Clock:
    def __init__(self, enabled):
        self.enabled, self.totals, self.last = enabled, {}, 0.0

    def start(self):
        self.last = time.perf_counter()

    def __call__(self, phase):
        if self.enabled:
            now = time.perf_counter()
            self.totals[phase] = self.totals.get(phase, 0.0) + now - self.last
            self.last = now


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="Hugging Face model directory (MHA)")
    parser.add_argument("--plan", required=True, help="plan JSON (formats.md)")
    parser.add_argument("--batches", required=True, help="raw little-endian int64 [warmup + steps, batch, context + 1]")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--variant", choices=("mirror", "direct"), default="mirror")
    parser.add_argument("--breakdown", action="store_true", help="time the step's phases separately")
    args = parser.parse_args()
    for name in ("threads", "batch", "context", "steps"):
        if getattr(args, name) < 1:
            parser.error("--%s must be >= 1" % name)
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    torch.set_num_threads(args.threads)
    try:
        config = Config(os.path.join(args.model, "config.json"))
        weights = load_model(args.model, config)
        plan = load_plan(args.plan, config)
        batches = load_batches(args.batches, args.warmup + args.steps, args.batch, args.context, config.vocab)
    except InputError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    state = FusionState(weights, plan, config)
    clock = Clock(args.breakdown)
    # Wall time, and the process's CPU time: with one thread the latter hardly moves when other processes
    # compete for the core, so it still compares the two implementations on a busy machine.
    seconds, cpu_seconds, first_loss, first_fusion_loss, last_loss = 0.0, 0.0, None, None, None
    for index in range(args.warmup + args.steps):
        if index == args.warmup:
            clock.totals = {}  # warm-up steps are not counted
        start, cpu_start = time.perf_counter(), time.process_time()
        clock.start()
        lm_loss, fusion_loss = fusion_step(state, batches[index], args.variant, args.dtype == "bf16", clock)
        elapsed, cpu_elapsed = time.perf_counter() - start, time.process_time() - cpu_start
        if first_loss is None:
            first_loss, first_fusion_loss = lm_loss, fusion_loss
        last_loss = lm_loss
        if index >= args.warmup:
            seconds += elapsed
            cpu_seconds += cpu_elapsed
    tokens = args.steps * args.batch * args.context
    result = {"implementation": "python", "variant": args.variant, "torch": torch.__version__,
              "torch_path": os.path.dirname(torch.__file__), "threads": torch.get_num_threads(),
              "dtype": args.dtype, "tokens_per_s": tokens / seconds, "ms_per_step": 1000.0 * seconds / args.steps,
              "cpu_tokens_per_s": tokens / cpu_seconds,
              "first_loss": first_loss, "first_fusion_loss": first_fusion_loss, "last_loss": last_loss,
              "lambda1": state.lambda1, "lambda2": state.lambda2}
    if args.breakdown:
        result["breakdown_ms"] = {k: 1000.0 * v / args.steps for k, v in clock.totals.items()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
