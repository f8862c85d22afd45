@{
    RootModule           = 'DaxFs.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0c7f5e-3d5a-4f3e-9a56-0c1de0a5f7a1'
    Author               = 'DaxFs contributors'
    CompanyName          = 'DaxFs contributors'
    Copyright            = '(c) DaxFs contributors. MIT License.'
    Description          = 'Build, inspect, validate, place and mount DAXFS images (the Linux filesystem that lives in DAX memory: persistent memory, CXL pools, dma-buf) from PowerShell.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'Get-DaxFsImage'
        'Measure-DaxFsImage'
        'Get-DaxFsItem'
        'Get-DaxFsContent'
        'Test-DaxFsImage'
        'New-DaxFsImage'
        'Export-DaxFsItem'
        'Get-DaxFsBranch'
        'Compare-DaxFsBranch'
        'Get-DaxFsOverlay'
        'Compare-DaxFsOverlay'
        'Compare-DaxFsImage'
        'New-DaxFsBranch'
        'Complete-DaxFsBranch'
        'Undo-DaxFsBranch'
        'Get-DaxDevice'
        'Set-DaxDevice'
        'Get-DaxRegion'
        'Get-DaxNamespace'
        'New-DaxNamespace'
        'Remove-DaxNamespace'
        'New-DmaBuf'
        'Write-DaxFsImage'
        'Save-DaxFsImage'
        'Mount-DaxFs'
        'Get-DaxFsMount'
        'Dismount-DaxFs'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    FormatsToProcess     = @('DaxFs.Format.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags         = @('Linux', 'DAX', 'CXL', 'pmem', 'NVDIMM', 'dma-buf', 'filesystem', 'daxfs')
            LicenseUri   = 'https://opensource.org/license/mit'
            ProjectUri   = 'https://github.com/daxfs/DaxFs'
            ReleaseNotes = 'First release: image reader, validator and writer.'
        }
    }
}
