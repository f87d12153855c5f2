/// <reference types="vite/client" />
declare const __SINGLE_FILE__: boolean;
