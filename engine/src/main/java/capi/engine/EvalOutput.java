package capi.engine;

/**
 * The evaluation forward of the teacher backbone (reference EncoderDecoder.forward):
 * globalRepr (B, Dp) = predictor pooling, registers (B, R, D), featureMap (B, H/p, W/p, D), and
 * patchMean (B, D) = the feature map averaged over positions.
 */
public record EvalOutput(NamedTensor globalRepr, NamedTensor registers, NamedTensor featureMap, NamedTensor patchMean) {}
