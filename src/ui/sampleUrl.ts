/** The sample model ships in public/sample/ (see its README.md); fetched from this origin. */
export const SAMPLE_URL = './sample/digits-cnn.onnx';
