// Package backbone provides the feature extractors a pretext task trains and a
// downstream classifier reuses: residual networks and a small convolutional encoder,
// each an ssl.Backbone built from package nn's layers.
//
//   - ResNetV1(depth): the ResNet v1 of Keras' CIFAR-10 example (depth 6n+2: 20, 32,
//     44, 56, 110, ...), the network of the RotNet experiment; 64 features.
//   - ResNetV2(depth): the pre-activation bottleneck ResNet v2 of the same example
//     (depth 9n+2: 11, 20, 29, 56, 110, 164, ...), for 32×32 images; 256 features.
//   - ResNet50V2(): Keras applications' ResNet50V2 without its top, for larger images
//     (96×96 STL-10); 2048 features.
//   - ConvNet(): a small, fast conv-BN-ReLU-pool encoder for quick starts.
//
// A constructor checks its arguments and returns an error for a depth that does not fit
// the family or an option it does not take; Must turns that into a panic where the
// configuration is constant. Options are functional: BaseFilters (width), L2 (kernel
// regularization), KernelInit, InputChannels, Filters (ConvNet).
//
// A backbone holds only its configuration. Build adds it to the graph of an nn.Scope and
// returns the [N, F] feature node; the weights live in the scope's nn.Params, named as
// Keras-style paths ("stem/conv/kernel", "stack1/block0/bn2/moving_mean", ...), so that a
// training graph and an inference graph built on the same Params share them, and a
// checkpoint can be matched by name. Errors (an input that is not [N,C,H,W], a channel
// count other than InputChannels, a layer that does not fit) are recorded in the scope:
// check Scope.Err once after building.
//
//	bb, err := backbone.ResNetV1(20)
//	if err != nil { ... }
//	ps := nn.NewParams(seed)
//	s := nn.NewScope(gorgonia.NewGraph(), ps, true)
//	features := bb.Build(s, x)                                        // [N, 64]
//	logits := nn.Dense(s.In("head"), features, 10, nn.Init(nn.HeNormal))
//	loss := nn.Add(s, nn.SoftmaxCrossEntropy(s, logits, labels), nn.L2Penalty(s)) // own training loop
//	if err := s.Err(); err != nil { ... }
//
// That loss is for a training loop of your own. Under the ssl pipeline (ssl.New(bb)...) the
// pipeline builds the graphs and adds nn.L2Penalty itself; a pretext task's Head returns
// only its task loss (see nn's package documentation).
//
// Parameter counts match Keras': ResNetV1(20) with a 10-class Dense head has 273,066
// trainable and 1,376 non-trainable parameters; ResNet50V2 has 23,564,800 in all. As in
// Keras, convolutions keep their bias even where a batch norm follows, which makes that
// bias's gradient zero in exact arithmetic (in ResNetV1, the biases of the stem and of
// conv1/conv2; in the v2 networks, every conv bias, since every path to the loss passes a
// batch norm): they cost little and keep checkpoints and counts Keras-compatible.
package backbone
