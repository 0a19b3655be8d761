#!/usr/bin/env python3
"""Reference values for backbone's ResNetV1(20) test: one forward and backward pass of a
Keras-style ResNet20 v1 (conv-BN-ReLU, 'same' padding with TensorFlow's asymmetric split,
1x1 projection shortcuts, BatchNorm epsilon 1e-3, 10-class dense head) in PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 resnet20_ref.py
Writes resnet20_ref.safetensors beside this script. Tensor names:
  <param>            the weights, named as selfsup's nn.Params names them (dense kernel is [in, out])
  input [8,3,32,32], labels [8] (float32 class indices)
  logits_train       logits in training mode (batch statistics)
  loss               mean softmax cross-entropy of logits_train
  grad/<param>       d loss / d param for every trainable param
  batch_mean/<bn>, batch_var/<bn>   per-channel batch statistics (biased variance) seen by each BN
  logits_eval        logits in inference mode (the moving statistics stored as weights)
"""
import json, os, struct
import torch
import torch.nn.functional as F

torch.manual_seed(20)
N, EPS = 8, 1e-3
params = {}  # name -> tensor (requires grad for trainable)
order = []


def new(name, shape, kind):
    if kind == "kernel":
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        t = torch.randn(*shape) * (2.0 / fan_in) ** 0.5
    elif kind == "gamma":
        t = 1 + 0.2 * torch.randn(*shape)
    elif kind == "moving_variance":
        t = 0.5 + torch.rand(*shape)
    else:  # bias, beta, moving_mean
        t = 0.1 * torch.randn(*shape)
    t.requires_grad_(kind not in ("moving_mean", "moving_variance"))
    params[name] = t
    order.append(name)
    return t


def same_pad(x, k, s):
    """TensorFlow 'same' padding: total = max((ceil(in/s)-1)*s + k - in, 0), less before than after."""
    h = x.shape[2]
    out = -(-h // s)
    total = max((out - 1) * s + k - h, 0)
    before = total // 2
    return F.pad(x, (before, total - before, before, total - before))


def conv(x, name, cin, cout, k, s):
    w = new(name + "/kernel", (cout, cin, k, k), "kernel")
    b = new(name + "/bias", (cout,), "bias")
    return F.conv2d(same_pad(x, k, s), w, b, stride=s)


stats = {}


def bn(x, name, c, training):
    g = new(name + "/gamma", (c,), "gamma") if training else params[name + "/gamma"]
    be = new(name + "/beta", (c,), "beta") if training else params[name + "/beta"]
    mm = new(name + "/moving_mean", (c,), "moving_mean") if training else params[name + "/moving_mean"]
    mv = new(name + "/moving_variance", (c,), "moving_variance") if training else params[name + "/moving_variance"]
    if training:
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        stats[name] = (mean.detach(), var.detach())
    else:
        mean, var = mm, mv
    xhat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + EPS)
    return xhat * g[None, :, None, None] + be[None, :, None, None]


def model(x, training):
    def c(x, name, cin, cout, k, s):
        if training:
            return conv(x, name, cin, cout, k, s)
        return F.conv2d(same_pad(x, k, s), params[name + "/kernel"], params[name + "/bias"], stride=s)

    x = F.relu(bn(c(x, "stem/conv", 3, 16, 3, 1), "stem/bn", 16, training))
    cin = 16
    for stack, cout in enumerate([16, 32, 64]):
        for block in range(3):
            s = 2 if stack > 0 and block == 0 else 1
            p = f"stack{stack}/block{block}"
            y = F.relu(bn(c(x, p + "/conv1", cin, cout, 3, s), p + "/bn1", cout, training))
            y = bn(c(y, p + "/conv2", cout, cout, 3, 1), p + "/bn2", cout, training)
            if s != 1 or cin != cout:
                x = c(x, p + "/shortcut", cin, cout, 1, s)
            x = F.relu(x + y)
            cin = cout
    f = x.mean(dim=(2, 3))
    if training:
        new("head/kernel", (64, 10), "kernel")
        new("head/bias", (10,), "bias")
    return f @ params["head/kernel"] + params["head/bias"]


x = torch.rand(N, 3, 32, 32)
labels = torch.randint(0, 10, (N,))
logits = model(x, True)
loss = F.cross_entropy(logits, labels)
loss.backward()
with torch.no_grad():
    logits_eval = model(x, False)

out = {}
for name in order:
    out[name] = params[name].detach()
out["input"] = x
out["labels"] = labels.float()
out["logits_train"] = logits.detach()
out["loss"] = loss.detach().reshape(1)
for name in order:
    if params[name].grad is not None:
        out["grad/" + name] = params[name].grad
for name, (m, v) in stats.items():
    out["batch_mean/" + name] = m
    out["batch_var/" + name] = v
out["logits_eval"] = logits_eval

header, blobs, off = {}, [], 0
for name, t in out.items():
    b = t.contiguous().float().numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
header["__metadata__"] = {"generator": "resnet20_ref.py", "torch": torch.__version__}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnet20_ref.safetensors")
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(path, off, "bytes of tensors; loss", float(loss))
