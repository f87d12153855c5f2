/** Single-file build: the sample model is inlined as a data: URL (build.assetsInlineLimit is raised). */
import sampleUrl from '../../public/sample/digits-cnn.onnx?url';

export const SAMPLE_URL: string = sampleUrl;
