/// GGUF files (llama.cpp's model format, version 3): metadata, tensor infos and memory-mapped tensor data.
public enum GGUF {}
