// Package pretext holds predictive pretext tasks for self-supervised pretraining: tasks
// that make a label out of a transformation of the image and train the backbone to
// predict it. Each implements ssl.PretextTask (and ssl.Scorer), so it plugs into
// ssl.New(...).Pretrain(task, unlabeled, ...).
//
// Rotation is the task of Gidaris et al. (2018) and of the seed experiment: an image is
// rotated by 0, 90, 180 or 270 degrees and a 4-way softmax head predicts which. By default
// each image is rotated once per epoch by a random quarter turn (the seed's setting);
// AllRotations feeds all four rotations of every image in the same batch (the RotNet
// paper's setting, four times the inputs per step):
//
//	ssl.New(backbone.Must(backbone.ResNetV1(20))).
//		Pretrain(pretext.Rotation(pretext.AllRotations()), unlabeled, ssl.Epochs(30))
//
// Rotation keeps the pretraining epoch with the best validation accuracy of the predicted
// rotation. The images reach the task with the per-pixel mean image already subtracted, so
// a rotated image is the rotation of the mean-subtracted image, as in the seed.
package pretext
