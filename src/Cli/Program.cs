using MeshOs.Cli;

return await MeshCtl.CreateRootCommand().Parse(args).InvokeAsync();
