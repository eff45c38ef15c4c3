"""Which of ONNX's node tests (``onnx.backend.test.case.node``, built in memory) the importer
covers: ``MAPPED_OPS``, the ops of the mapping (docs/onnx_ops.md), and ``COVERED``, the node
tests of those ops that import and match ONNX's expected outputs at its tolerance
(tests/onnx_import/test_node_backend.py runs them through ``BackendTest``). Every other node
test of a mapped op must fail to import with ``OnnxImportError`` naming the reason
(``classify`` below; scripts/onnx_coverage.py prints the table kept in docs/onnx_ops.md).
Node tests built of several nodes (the ``_expanded`` function bodies) are left out: they test
other ops' compositions, not the op."""
from __future__ import annotations

MAPPED_OPS = (
    "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "LayerNormalization",
    "GroupNormalization", "Gemm", "MatMul", "Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Softmax", "Clip",
    "HardSigmoid", "HardSwish", "Mul", "Add", "Sub", "Div", "Sum", "Concat", "MaxPool", "AveragePool",
    "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Dropout", "Identity", "Pad", "Resize",
    "Upsample", "ReduceMean", "ReduceMax", "Squeeze", "Unsqueeze", "RNN", "Gather",
)

COVERED = frozenset({
    "test_add",
    "test_add_bcast",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_ceil_last_window_starts_on_pad",
    "test_averagepool_2d_default",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_strides",
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_batchnorm_epsilon",
    "test_batchnorm_example",
    "test_clip_default_min",
    "test_concat_2d_axis_1",
    "test_concat_2d_axis_negative_1",
    "test_concat_3d_axis_1",
    "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1",
    "test_concat_3d_axis_negative_2",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_convtranspose",
    "test_convtranspose_autopad_same",
    "test_convtranspose_pads",
    "test_div",
    "test_div_bcast",
    "test_dropout_default",
    "test_dropout_default_ratio",
    "test_dropout_random_old",
    "test_elu",
    "test_elu_default",
    "test_flatten_axis1",
    "test_flatten_default_axis",
    "test_flatten_negative_axis3",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeB",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
    "test_globalmaxpool",
    "test_globalmaxpool_precomputed",
    "test_group_normalization_epsilon",
    "test_group_normalization_example",
    "test_hardsigmoid",
    "test_hardsigmoid_default",
    "test_hardswish",
    "test_identity",
    "test_instancenorm_epsilon",
    "test_instancenorm_example",
    "test_leakyrelu",
    "test_leakyrelu_default",
    "test_matmul_2d",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_ceil_output_size_reduce_by_one",
    "test_maxpool_2d_default",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides",
    "test_mul",
    "test_mul_bcast",
    "test_relu",
    "test_reshape_extended_dims",
    "test_reshape_negative_dim",
    "test_reshape_reduced_dims",
    "test_reshape_reordered_last_dims",
    "test_reshape_zero_and_negative_dim",
    "test_reshape_zero_dim",
    "test_resize_downsample_scales_linear",
    "test_resize_downsample_scales_linear_align_corners",
    "test_resize_downsample_scales_nearest",
    "test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "test_resize_downsample_sizes_nearest",
    "test_resize_upsample_scales_linear",
    "test_resize_upsample_scales_linear_align_corners",
    "test_resize_upsample_scales_nearest",
    "test_resize_upsample_scales_nearest_axes_2_3",
    "test_resize_upsample_scales_nearest_axes_3_2",
    "test_resize_upsample_sizes_nearest",
    "test_resize_upsample_sizes_nearest_axes_2_3",
    "test_resize_upsample_sizes_nearest_axes_3_2",
    "test_resize_upsample_sizes_nearest_ceil_half_pixel",
    "test_resize_upsample_sizes_nearest_floor_align_corners",
    "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric",
    "test_rnn_seq_length",
    "test_sigmoid",
    "test_simple_rnn_batchwise",
    "test_simple_rnn_bidirectional",
    "test_simple_rnn_defaults",
    "test_simple_rnn_reverse",
    "test_simple_rnn_with_initial_bias",
    "test_squeeze_negative_axes",
    "test_softmax_axis_1",
    "test_softmax_example",
    "test_softmax_large_number",
    "test_sub",
    "test_sub_bcast",
    "test_tanh",
    "test_transpose_all_permutations_0",
    "test_transpose_all_permutations_1",
    "test_unsqueeze_axis_1",
    "test_unsqueeze_axis_2",
    "test_upsample_nearest",
})


def node_cases():
    """The single-node test cases of the mapped ops, in ONNX's order."""
    import warnings

    from onnx.backend.test.case import node as N
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = N.collect_testcases()
    return [t for t in cases if len(t.model.graph.node) == 1 and t.model.graph.node[0].op_type in MAPPED_OPS]


def classify(case):
    """("covered", "") when the case imports and matches; ("not covered", reason) when the importer
    refuses it; ("mismatch", text) or ("error", text) otherwise (a bug)."""
    import numpy as np

    from .backend import LayergraphBackend
    from .importer import OnnxImportError
    try:
        rep = LayergraphBackend.prepare(case.model)
        for inputs, outputs in case.data_sets:
            got = rep.run(list(inputs))
            for g, e in zip(got, outputs):
                np.testing.assert_allclose(g, np.asarray(e), rtol=case.rtol, atol=case.atol)
    except OnnxImportError as err:
        lines = str(err).splitlines()
        return "not covered", (lines[1].strip() if len(lines) > 1 else lines[0])
    except AssertionError as err:
        return "mismatch", str(err).strip().splitlines()[0]
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        return "error", f"{type(err).__name__}: {err}"
    return "covered", ""
